// Misuse of hazard pointers aborts with a message naming the fix in checks
// builds. Built with QUIESCE_CHECKS=1.
#include <quiesce/hazard_pointer.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <optional>

#include "support/misuse.hpp"

namespace {

static_assert(quiesce::detail::base::checks_enabled, "this file must be built with QUIESCE_CHECKS=1");

// The library this test links was built with the checks too (tests/CMakeLists.txt:
// quiesce_checks), so the misuse below is caught by the code that ships.
TEST(HazardPointerMisuse, LibraryIsBuiltWithTheChecks) { EXPECT_TRUE(quiesce::detail::hp::library_checks()); }

using HazardPointerMisuseDeathTest = quiesce::test::threadsafe_death_test;

struct obj : quiesce::hazard_pointer_obj_base<obj> {
  int v = 0;
};

TEST_F(HazardPointerMisuseDeathTest, ProtectOnEmpty) {
  EXPECT_DEATH(
      {
        obj o;
        std::atomic<obj*> src{&o};
        quiesce::hazard_pointer h;
        (void)h.protect(src);
      },
      "hazard_pointer used while empty.*\n.*make_hazard_pointer\\(\\)");
}

TEST_F(HazardPointerMisuseDeathTest, TryProtectOnMovedFrom) {
  EXPECT_DEATH(
      {
        obj o;
        std::atomic<obj*> src{&o};
        auto h = quiesce::make_hazard_pointer();
        auto g = std::move(h);
        obj* p = &o;
        (void)h.try_protect(p, src);  // NOLINT(bugprone-use-after-move): the misuse under test
      },
      "hazard_pointer used while empty.*\n.*moved-from hazard_pointer is empty");
}

TEST_F(HazardPointerMisuseDeathTest, ResetProtectionOnEmpty) {
  EXPECT_DEATH(
      {
        quiesce::hazard_pointer h;
        h.reset_protection();
      },
      "hazard_pointer used while empty");
}

TEST_F(HazardPointerMisuseDeathTest, RetireTwice) {
  EXPECT_DEATH(
      {
        quiesce::hazard_pointer_domain dom;
        auto* o = new obj;
        auto h = quiesce::make_hazard_pointer(dom);
        h.reset_protection(o);  // keeps o alive, so the second retire is not a use after free
        o->retire(dom);
        o->retire(dom);
      },
      "object retired twice.*\n.*retire each object exactly once");
}

TEST_F(HazardPointerMisuseDeathTest, RetireNull) {
  EXPECT_DEATH(
      {
        int* p = nullptr;
        quiesce::hazard_pointer_retire(p);
      },
      "hazard_pointer_retire\\(nullptr\\).*\n.*never null");
}

TEST_F(HazardPointerMisuseDeathTest, DomainDestroyedWhileProtecting) {
  EXPECT_DEATH(
      {
        std::optional<quiesce::hazard_pointer_domain> dom;
        dom.emplace();
        obj o;
        auto* h = new quiesce::hazard_pointer(quiesce::make_hazard_pointer(*dom));
        h->reset_protection(&o);
        dom.reset();
      },
      "domain destroyed while one of its hazard pointers protects an object");
}

TEST_F(HazardPointerMisuseDeathTest, CleanupFromADeleter) {
  struct bad : quiesce::hazard_pointer_obj_base<bad, void (*)(bad*)> {};
  EXPECT_DEATH(
      {
        auto* b = new bad;
        b->retire([](bad* p) {
          quiesce::hazard_pointer_cleanup();
          delete p;
        });
        quiesce::hazard_pointer_cleanup();
      },
      "hazard_pointer_cleanup\\(\\) called from a deleter");
}

}  // namespace
