# quiesce_component(NAME [SOURCES src...] [LINK lib...])
#
# One component library: quiesce_NAME (alias quiesce::NAME, exported as NAME)
# from SOURCES (none: a header-only INTERFACE library, or an umbrella over
# LINK), with the component's include/ directory and PUBLIC links to
# LINK, quiesce_base (structures/base) and Threads. Warnings and sanitizers come from quiesce_build_flags
# (never passed on to consumers).
#
# With QUIESCE_BUILD_TESTS, also quiesce_NAME_checks: the same sources built
# with QUIESCE_CHECKS=1 (a PUBLIC definition, so whatever links it compiles
# with the checks too), linking the _checks variant of every quiesce_*
# library in LINK. The misuse tests link these: every translation unit of a
# program must agree on QUIESCE_CHECKS, and a checks-on test linked with a
# checks-off library could run unchecked copies of the inline functions
# (the linker keeps one) and would not test the code that ships.
function(quiesce_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  set(targets quiesce_${name})
  if(QUIESCE_BUILD_TESTS)
    list(APPEND targets quiesce_${name}_checks)
  endif()
  # Header-only (no SOURCES): an INTERFACE library, the same usage requirements.
  if(ARG_SOURCES)
    set(scope PUBLIC)
  else()
    set(scope INTERFACE)
  endif()
  foreach(target IN LISTS targets)
    if(ARG_SOURCES)
      add_library(${target} ${ARG_SOURCES})
      set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    else()
      add_library(${target} INTERFACE)
    endif()
    target_compile_features(${target} ${scope} cxx_std_20)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)  # an umbrella has none of its own
      target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>)
    endif()
    target_include_directories(${target} ${scope}
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/structures/base/include>  # also via quiesce_base; here for object-file users
      $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated/include>  # <quiesce/version.hpp>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    set(link ${ARG_LINK})
    if(target MATCHES "_checks$")
      list(TRANSFORM link REPLACE "^(quiesce_[a-z_]+)$" "\\1_checks")
      target_compile_definitions(${target} ${scope} QUIESCE_CHECKS=1)
    endif()
    if(ARG_SOURCES)
      target_link_libraries(${target} PUBLIC quiesce_base ${link} Threads::Threads PRIVATE $<BUILD_INTERFACE:quiesce_build_flags>)
    else()
      target_link_libraries(${target} INTERFACE quiesce_base ${link} Threads::Threads)
    endif()
  endforeach()
  add_library(quiesce::${name} ALIAS quiesce_${name})
  set_target_properties(quiesce_${name} PROPERTIES EXPORT_NAME ${name})
endfunction()
