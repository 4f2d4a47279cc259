// stall.cpp — the hazard-pointer stall detector's settings (environment,
// configure/disable) and its report text; the detection itself runs in scans
// (domain_impl::note_kept, hp_internal.hpp).
// (hp_internal.hpp lists the hazard-pointer sources.)

#include "hp_internal.hpp"

namespace quiesce {

namespace detail::hp {

namespace {
// Built on first use and published without a guard
// (quiesce/base/fork_safe.hpp); immortal: scans run during exit cleanup.
std::unique_ptr<stall_config> make_stall_config() {
  auto p = std::make_unique<stall_config>();
  if (const auto ms = quiesce::detail::base::stall_timeout_ms_from_env("QUIESCE_HP_STALL_TIMEOUT_MS", "hazard-pointer stall detector",
                                                                      static_cast<long long>(p->opts.timeout.count()))) {
    if (*ms == 0) {
      p->on.store(false, std::memory_order_relaxed);
    } else {
      p->opts.timeout = std::chrono::milliseconds(*ms);
      p->timeout_ns.store(*ms * 1'000'000, std::memory_order_relaxed);
    }
  }
  return p;
}
constinit quiesce::detail::base::published_once<stall_config> g_stall_config;
}  // namespace

stall_config& stall_cfg() { return g_stall_config.get(make_stall_config); }

}  // namespace detail::hp

// ---- stall detector ---------------------------------------------------------

std::string to_string(const hazard_pointer_stall_report& r) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "quiesce: hazard pointer stall: domain %llu%s: %zu protector%s holding retired objects:",
                static_cast<unsigned long long>(r.domain_id),
                r.domain_id == detail::hp::default_domain_id ? " (default)" : "", r.holders.size(),
                r.holders.size() == 1 ? "" : "s");
  std::string s = buf;
  for (std::size_t i = 0; i < r.holders.size(); ++i) {
    const auto& h = r.holders[i];
    std::snprintf(buf, sizeof buf, "%s tid %d \"%s\" protects %p for >= %.1f s", i == 0 ? "" : ",",
                  static_cast<int>(h.tid), h.name.c_str(), h.object, std::chrono::duration<double>(h.held_for).count());
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "; %llu unreclaimed (threshold %zu, %zu records)",
                static_cast<unsigned long long>(r.unreclaimed), r.threshold, r.hazard_records);
  s += buf;
  if (r.suppressed != 0) s += " (" + std::to_string(r.suppressed) + " scans since the last report)";
  return s;
}

void hazard_pointer_stall_detector_configure(hazard_pointer_stall_options opts) {
  detail::base::check_stall_options("hazard_pointer_stall_options", "hazard_pointer_stall_detector_disable",
                                    opts.timeout, opts.report_interval);
  auto& c = detail::hp::stall_cfg();
  std::lock_guard lk(c.mu);
  c.timeout_ns.store(std::chrono::nanoseconds(opts.timeout).count(), std::memory_order_relaxed);
  c.opts = std::move(opts);
  c.on.store(true, std::memory_order_relaxed);
}

void hazard_pointer_stall_detector_disable() noexcept { detail::hp::stall_cfg().on.store(false, std::memory_order_relaxed); }

bool hazard_pointer_stall_detector_enabled() noexcept {
  return detail::hp::stall_cfg().on.load(std::memory_order_relaxed);
}

std::uint64_t hazard_pointer_stall_reports() noexcept {
  return detail::hp::stall_cfg().reports.load(std::memory_order_relaxed);
}

}  // namespace quiesce
