// quiesce/hybrid_logical_clock.hpp — hybrid logical clocks (HLC):
// timestamps that respect causality like a Lamport clock and stay within a
// bounded distance of physical (NTP) time, in 64 bits.
//
// What it is
//   S. S. Kulkarni, M. Demirbas, D. Madappa, B. Avva, M. Leone, "Logical
//   Physical Clocks and Consistent Snapshots in Globally Distributed
//   Databases", OPODIS 2014. A timestamp is a pair (l, c): l is the largest
//   physical time the process has heard of (its own clock or a message's),
//   c a counter that orders events sharing that l. With pt the local
//   physical time, the paper's algorithm (its Figure 5) is
//     send or local event:  l' = l; l = max(l', pt);
//                           c = (l == l') ? c + 1 : 0
//     receive of (lm, cm):  l' = l; l = max(l', lm, pt);
//                           c = l == l' == lm ? max(c, cm) + 1
//                             : l == l'       ? c + 1
//                             : l == lm       ? cm + 1 : 0
//   and guarantees: e happened before f  =>  hlc(e) < hlc(f); l - pt never
//   exceeds the clock-synchronisation error eps; c.f is at most the number
//   of events g that happened before f with l.g == l.f (its Theorem 3), so
//   it stays small while physical clocks tick. Timestamps compare as (l, c)
//   pairs: a total order, usable as MVCC versions and snapshot times
//   (CockroachDB, YugabyteDB and MongoDB use HLCs so).
//
// Representation
//   hlc_timestamp packs (l, c) in one 64-bit word, l in the high 48 bits and
//   c in the low 16, as the paper suggests: l counts ticks of 2^-16 s
//   (15.26 us; NTP's fraction truncated to 16 bits) since the Unix epoch,
//   which lasts until 2106. Packed, the paper's two rules are one
//   expression each:
//     now():       new = max(pt << 16, old + 1)
//     receive(m):  new = max(pt << 16, max(old, m) + 1)
//   (check: if pt wins, c = 0; if l stays, c + 1; if m's l wins, cm + 1; if
//   both tie, max(c, cm) + 1.) The clock object holds that word in one
//   std::atomic<uint64_t>, updated by a compare-and-swap loop, so it is
//   lock-free and may be shared by any number of threads; the timestamps are
//   plain, trivially copyable values.
//
// Counter overflow: c is 16 bits. More than 65,535 events at one l (more
//   than ~4 billion events per second on one clock, or a physical clock
//   stepped back by NTP while events continue) carry into l: the word's
//   `+ 1` simply moves l one tick ahead of physical time with c = 0. Order
//   and uniqueness are kept; only the distance l - pt grows by one tick per
//   65,536 events while pt stands still. (The paper bounds c in its setting
//   and sizes it at 16 bits; the carry is this library's choice for when
//   that setting does not hold, rather than an error in a clock read.) l
//   itself overflows only after 2106: std::overflow_error.
//
// Clock skew bound
//   receive() rejects a remote timestamp whose l is more than max_skew ahead
//   of the local physical time: it throws hlc_clock_skew_error (naming the
//   skew and the bound) and leaves the clock unchanged. Without the check one
//   node with a wrong clock (or a corrupt message) would drag every clock it
//   talks to into the future for good. The default bound is 500 ms
//   (CockroachDB's default --max-offset); hybrid_logical_clock<>::
//   unbounded_skew disables the check.
//
// Physical time source
//   A template parameter: any callable returning a std::chrono::duration
//   since the Unix epoch, or a std::chrono::time_point whose
//   time_since_epoch() is one (so a std::function<std::chrono::nanoseconds()>
//   works too). The default reads std::chrono::system_clock: HLC timestamps
//   are meant to be compared across machines, which needs a shared epoch and
//   NTP-disciplined time, and steady_clock has neither (its epoch is the
//   boot). system_clock may step backwards (an NTP correction, a manual
//   change): the HLC stays monotonic regardless (l holds, c counts) and
//   catches up with pt when pt passes l again. Tests pass a fake source.
//   A source returning a time before 1970 or after 2106 makes now() and
//   receive() throw std::range_error.
//
// Example
//   quiesce::hybrid_logical_clock<> clock;          // system_clock, 500 ms bound
//   quiesce::hlc_timestamp ts = clock.send();       // stamp an outgoing message
//   ...
//   try {
//     quiesce::hlc_timestamp r = clock.receive(msg.ts);  // stamp the receive
//   } catch (const quiesce::hlc_clock_skew_error& e) {
//     // e.skew() > e.max_skew(): drop the message, alert on the sender's clock
//   }
//   if (a.ts < b.ts) ...                              // total order
//
// Costs (perf/logical_clock_bench hlc_now/*; table in the main job's
// out/logical_clock_ratios.md, structures/clocks/README.md "Logical clocks")
//   now()/send(): one read of the physical source (system_clock::now(), a
//   vDSO call) plus one load and one lock cmpxchg (retried when another
//   thread's update lands first; a cache-line transfer when threads on
//   other cores share the clock). The same algorithm under a std::mutex
//   takes a lock and an unlock, two atomic RMWs, instead of the cmpxchg
//   (hlc_now/mutex_only vs quiesce_cas_only). receive() costs as now().
//   last(): one load.
//
// Memory ordering
//   The word's updates are relaxed read-modify-writes. That suffices: all
//   updates of one atomic object form one modification order, so every
//   successful CAS returns a value larger than every value returned before
//   it, and a thread whose call happens after another thread's call (by any
//   synchronisation) reads a later value (coherence). The clock publishes
//   no other data, so it needs no acquire/release of its own.
#ifndef QUIESCE_HYBRID_LOGICAL_CLOCK_HPP
#define QUIESCE_HYBRID_LOGICAL_CLOCK_HPP

#include <algorithm>
#include <atomic>
#include <chrono>
#include <compare>
#include <concepts>
#include <cstdint>
#include <limits>
#include <ratio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <quiesce/base/config.hpp>

namespace quiesce {

// One tick of an HLC's l: 2^-16 s (~15.26 us).
using hlc_duration = std::chrono::duration<std::uint64_t, std::ratio<1, 65536>>;

// An HLC timestamp: (l, c) packed as l << 16 | c. Totally ordered by (l, c).
// Trivially copyable, 8 bytes; bits()/from_bits() are its wire format.
class hlc_timestamp {
 public:
  static constexpr std::uint64_t max_l = (std::uint64_t{1} << 48) - 1;
  static constexpr std::uint64_t max_c = 0xffff;

  // (0, 0): before every clock's first timestamp.
  constexpr hlc_timestamp() noexcept = default;
  // Throws std::out_of_range when l > max_l (at compile time in a constant
  // expression) or c > max_c.
  constexpr hlc_timestamp(std::uint64_t l, std::uint64_t c) : bits_(l << 16 | c) {
    if (l > max_l || c > max_c) {
      throw std::out_of_range("quiesce::hlc_timestamp: l must be below 2^48 and c below 2^16");
    }
  }
  [[nodiscard]] static constexpr hlc_timestamp from_bits(std::uint64_t bits) noexcept {
    hlc_timestamp t;
    t.bits_ = bits;
    return t;
  }

  // The physical part, in hlc_duration ticks since the Unix epoch.
  [[nodiscard]] constexpr std::uint64_t l() const noexcept { return bits_ >> 16; }
  // The logical part.
  [[nodiscard]] constexpr std::uint64_t c() const noexcept { return bits_ & max_c; }
  [[nodiscard]] constexpr std::uint64_t bits() const noexcept { return bits_; }
  // l as wall-clock time (truncated to the tick), for display and for
  // reading "as of" a time.
  [[nodiscard]] std::chrono::system_clock::time_point wall_time() const noexcept {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(l() >> 16) + std::chrono::nanoseconds(((l() & 0xffff) * 1'000'000'000) >> 16)));
  }

  friend constexpr bool operator==(hlc_timestamp, hlc_timestamp) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(hlc_timestamp a, hlc_timestamp b) noexcept {
    return a.bits_ <=> b.bits_;
  }

 private:
  std::uint64_t bits_ = 0;
};

// Thrown by hybrid_logical_clock::receive() for a timestamp too far ahead of
// local physical time. The clock did not move.
class hlc_clock_skew_error : public std::runtime_error {
 public:
  hlc_clock_skew_error(hlc_timestamp remote, std::uint64_t local_pt, std::chrono::nanoseconds skew,
                       std::chrono::nanoseconds max_skew)
      : std::runtime_error("quiesce::hybrid_logical_clock::receive: the remote timestamp's physical time is " +
                           std::to_string(skew.count()) + " ns ahead of local physical time, over the max_skew bound of " +
                           std::to_string(max_skew.count()) +
                           " ns; the message is rejected and the clock unchanged (check the sender's time "
                           "synchronisation, or raise max_skew)"),
        remote_(remote),
        local_pt_(local_pt),
        skew_(skew),
        max_skew_(max_skew) {}

  [[nodiscard]] hlc_timestamp remote() const noexcept { return remote_; }
  // Local physical time when the message was rejected, in hlc_duration ticks.
  [[nodiscard]] std::uint64_t local_physical() const noexcept { return local_pt_; }
  // How far remote().l() was ahead of it (rounded down to the nanosecond).
  [[nodiscard]] std::chrono::nanoseconds skew() const noexcept { return skew_; }
  [[nodiscard]] std::chrono::nanoseconds max_skew() const noexcept { return max_skew_; }

 private:
  hlc_timestamp remote_;
  std::uint64_t local_pt_;
  std::chrono::nanoseconds skew_;
  std::chrono::nanoseconds max_skew_;
};

// The default physical time source: std::chrono::system_clock.
struct system_time_source {
  std::chrono::system_clock::time_point operator()() const noexcept { return std::chrono::system_clock::now(); }
};

namespace detail::clocks {

template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

// d (since the Unix epoch) in whole hlc_duration ticks, rounded down; throws
// std::range_error outside [0, 2^48) ticks.
template <class Rep, class Period>
std::uint64_t to_hlc_ticks(std::chrono::duration<Rep, Period> d) {
  using namespace std::chrono;
  if constexpr (std::is_same_v<duration<Rep, Period>, hlc_duration>) {
    if (d.count() <= hlc_timestamp::max_l) return d.count();
  } else {
    // Whole seconds and the fraction separately: a direct duration_cast of
    // nanoseconds since 1970 to 2^-16 s overflows 64 bits in its multiply.
    if (d >= duration<Rep, Period>::zero()) {
      const auto s = floor<seconds>(d);
      const auto frac = duration_cast<nanoseconds>(d - s).count();  // [0, 1e9)
      const auto secs = static_cast<std::uint64_t>(s.count());
      if (secs <= (hlc_timestamp::max_l >> 16)) {
        return secs << 16 | (static_cast<std::uint64_t>(frac) << 16) / 1'000'000'000u;
      }
    }
  }
  throw std::range_error(
      "quiesce::hybrid_logical_clock: the physical time source returned a time before 1970 or after 2106 "
      "(HLC l is 48 bits of 2^-16 s since the Unix epoch); return time since the Unix epoch");
}

inline std::chrono::nanoseconds hlc_ticks_to_ns(std::uint64_t ticks) noexcept {
  // ticks < 2^48: seconds and fraction apart keep the product in 64 bits.
  return std::chrono::seconds(ticks >> 16) + std::chrono::nanoseconds(((ticks & 0xffff) * 1'000'000'000u) >> 16);
}

}  // namespace detail::clocks

// A hybrid logical clock, shared by any number of threads. Source: see
// "Physical time source" above.
template <class Source = system_time_source>
class hybrid_logical_clock {
  using source_result = std::remove_cvref_t<std::invoke_result_t<Source&>>;
  static_assert(detail::clocks::is_duration<source_result>::value ||
                    requires(source_result r) { r.time_since_epoch(); },
                "hybrid_logical_clock<Source>: Source() must return a std::chrono::duration since the Unix "
                "epoch or a std::chrono::time_point");

 public:
  // max_skew = unbounded_skew (or any bound of a century or more) turns the
  // skew check off.
  static constexpr std::chrono::nanoseconds unbounded_skew = std::chrono::nanoseconds::max();
  static constexpr std::chrono::nanoseconds default_max_skew = std::chrono::milliseconds(500);

  // Throws std::invalid_argument for a negative max_skew.
  explicit hybrid_logical_clock(std::chrono::nanoseconds max_skew = default_max_skew, Source source = Source{})
      : source_(std::move(source)), max_skew_(max_skew), max_skew_ticks_(skew_ticks(max_skew)) {}

  hybrid_logical_clock(const hybrid_logical_clock&) = delete;
  hybrid_logical_clock& operator=(const hybrid_logical_clock&) = delete;

  // A local event or a send: a timestamp larger than every one this clock
  // returned before, and >= (physical time, 0). Lock-free (a CAS loop). Any
  // thread. Throws std::range_error for a physical time outside 1970-2106,
  // std::overflow_error when l would pass 2^48 - 1.
  hlc_timestamp now() { return advance(physical_ticks() << 16, 0); }
  // The same as now(), named for stamping an outgoing message.
  hlc_timestamp send() { return now(); }

  // A receive of a message stamped `remote`: a timestamp larger than
  // `remote` and than every one this clock returned before, and >= (physical
  // time, 0). Throws hlc_clock_skew_error, leaving the clock unchanged, when
  // remote.l() is more than max_skew() ahead of local physical time; the
  // errors of now() otherwise. Lock-free, any thread.
  hlc_timestamp receive(hlc_timestamp remote) {
    const std::uint64_t pt = physical_ticks();
    if (remote.l() > pt && remote.l() - pt > max_skew_ticks_) {
      throw hlc_clock_skew_error(remote, pt, detail::clocks::hlc_ticks_to_ns(remote.l() - pt), max_skew_);
    }
    return advance(pt << 16, remote.bits());
  }

  // The last timestamp this clock returned ((0, 0) before the first), without
  // making a new one. One relaxed load.
  [[nodiscard]] hlc_timestamp last() const noexcept {
    return hlc_timestamp::from_bits(state_.load(std::memory_order_relaxed));
  }

  [[nodiscard]] std::chrono::nanoseconds max_skew() const noexcept { return max_skew_; }
  // The physical time source's current reading, in hlc_duration ticks.
  [[nodiscard]] std::uint64_t physical_ticks() {
    const auto r = source_();
    if constexpr (detail::clocks::is_duration<source_result>::value) {
      return detail::clocks::to_hlc_ticks(r);
    } else {
      return detail::clocks::to_hlc_ticks(r.time_since_epoch());
    }
  }

 private:
  static std::uint64_t skew_ticks(std::chrono::nanoseconds max_skew) {
    if (max_skew < std::chrono::nanoseconds::zero()) {
      throw std::invalid_argument("quiesce::hybrid_logical_clock: max_skew is negative; pass a bound >= 0 or "
                                  "unbounded_skew");
    }
    if (max_skew >= std::chrono::hours(24 * 365 * 100)) return std::numeric_limits<std::uint64_t>::max();
    // The most ticks t with hlc_ticks_to_ns(t) <= max_skew, so that a
    // rejected message's skew() is always above max_skew().
    using detail::clocks::hlc_ticks_to_ns;
    std::uint64_t t = detail::clocks::to_hlc_ticks(max_skew);
    while (hlc_ticks_to_ns(t + 1) <= max_skew) ++t;
    while (t > 0 && hlc_ticks_to_ns(t) > max_skew) --t;
    return t;
  }

  // new = max(floor, max(old, other) + 1), with floor = pt << 16.
  hlc_timestamp advance(std::uint64_t floor, std::uint64_t other) {
    std::uint64_t old = state_.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
      const std::uint64_t base = std::max(old, other);
      if (base == std::numeric_limits<std::uint64_t>::max()) [[unlikely]] {
        throw std::overflow_error("quiesce::hybrid_logical_clock: l would pass 2^48 - 1 ticks (year 2106)");
      }
      next = std::max(floor, base + 1);
    } while (!state_.compare_exchange_weak(old, next, std::memory_order_relaxed, std::memory_order_relaxed));
    return hlc_timestamp::from_bits(next);
  }

  [[no_unique_address]] Source source_;
  std::chrono::nanoseconds max_skew_;
  std::uint64_t max_skew_ticks_;
  // Own cache line: the word every now() of every thread writes.
  alignas(detail::base::cache_line) std::atomic<std::uint64_t> state_{0};
};

}  // namespace quiesce

#endif  // QUIESCE_HYBRID_LOGICAL_CLOCK_HPP
