// tests/fuzz/fuzz_concurrency_control.cpp — libFuzzer target, single-threaded,
// over the header-only concurrency-control primitives. The first byte picks
// one of five drivers; the rest of the input is its operation sequence, and
// every result is compared with a model at every step:
//  * counter.hpp: cas_counter add/increment/update (running max, saturating
//    decrement, identity, throwing f)/load under every memory order, and
//    sharded_counter add/increment/load (1 to 65,536 shards; 0 and 65,537
//    must throw std::invalid_argument), against an int64 kept modulo 2^64
//    as the header documents (deltas span the whole 64-bit range);
//  * versioned_cell.hpp: read/version/try_commit (with the current snapshot,
//    stale ones, and fabricated ones with future or huge versions)/update
//    (throwing f commits nothing)/store, for an 8-byte and a 13-byte T,
//    against {value, version} (version + 1 per commit; a failed try_commit
//    changes nothing);
//  * stm.hpp: 24 tvar<int64_t> and one tvar<13 bytes>, transactions decoded
//    from the input (reads checked against the transaction's view: own
//    writes first; writes; tvar::load() inside, which must ignore them;
//    read_only(); nested atomically() joining the outer, whose exception the
//    outer may catch, keeping the inner writes; a user exception that aborts
//    everything), more reads and writes than the descriptor's inline logs
//    hold; every tvar compared with a std::vector after each transaction;
//  * vector_clock.hpp: four basic_vector_clock<4> (ids < 64, so the heap
//    path runs too) driven by increment/merge/receive (also of themselves)/
//    copy/move/construction from counters near 2^64 - 1, against
//    std::map<id, counter> plus a size: pointwise max, the partial order,
//    ==, happens_before/concurrent_with; ids >= 65,536 throw
//    std::out_of_range and a counter at its maximum std::overflow_error,
//    both leaving the clock unchanged;
//  * hybrid_logical_clock.hpp: a clock over a fake physical source (a
//    duration or a time_point, driven by the input: ticks, big steps, steps
//    back, times before 1970 and after 2106) and a decoded max_skew, against
//    the packed-word algorithm computed independently: now()/send()/
//    receive() results exact, strictly increasing, l >= physical time;
//    receive beyond max_skew throws hlc_clock_skew_error with the documented
//    fields and leaves the clock unchanged; range and overflow errors too.
#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <quiesce/counter.hpp>
#include <quiesce/hybrid_logical_clock.hpp>
#include <quiesce/retry_limit.hpp>
#include <quiesce/stm.hpp>
#include <quiesce/vector_clock.hpp>
#include <quiesce/versioned_cell.hpp>

#include "fuzz_input.hpp"

namespace {

using quiesce::fuzz::check;
using quiesce::fuzz::input;
using quiesce::fuzz::same;
using quiesce::fuzz::value_from;

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

std::uint64_t u64(input& in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{in.byte()} << (8 * i);
  return v;
}

// A 64-bit delta: small either way, anything, or an extreme.
std::int64_t delta(input& in) {
  switch (in.byte() % 4) {
    case 0: return static_cast<std::int8_t>(in.byte());
    case 1: return static_cast<std::int64_t>(u64(in));
    case 2: return std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(in.byte());
    default: return std::numeric_limits<std::int64_t>::min() + static_cast<std::int64_t>(in.byte());
  }
}

std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

struct user_error {};

template <class E, class F>
bool throws(F&& f) {
  try {
    f();
  } catch (const E&) {
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- counters

constexpr std::memory_order orders[] = {std::memory_order_relaxed, std::memory_order_consume,
                                        std::memory_order_acquire, std::memory_order_release,
                                        std::memory_order_acq_rel, std::memory_order_seq_cst};
// What load() accepts.
constexpr std::memory_order load_orders[] = {std::memory_order_relaxed, std::memory_order_acquire,
                                             std::memory_order_seq_cst};

void fuzz_counters(input& in) {
  const std::int64_t init = delta(in);
  quiesce::cas_counter cas(init);
  std::int64_t cas_model = init;

  const std::uint16_t raw_shards = in.u16();
  std::size_t shards = static_cast<std::size_t>(raw_shards % 64) + 1;
  if (raw_shards >= 0xfff0) shards = quiesce::detail::seqlock::max_shards;  // the largest allowed
  check(throws<std::invalid_argument>([] { quiesce::sharded_counter s(0); }));
  check(throws<std::invalid_argument>([] { quiesce::sharded_counter s(quiesce::detail::seqlock::max_shards + 1); }));
  quiesce::sharded_counter sharded(shards);
  check(sharded.shards() == std::bit_ceil(shards));
  std::int64_t sharded_model = 0;

  // 65,536 shards: every load() sums 8 MiB of slots, so only a few steps.
  const int steps = shards == quiesce::detail::seqlock::max_shards ? 8 : 512;
  for (int step = 0; step < steps && !in.done(); ++step) {
    const std::uint8_t op = in.byte();
    const std::memory_order order = orders[(op >> 4) % 6];
    switch (op % 9) {
      case 0: {
        const std::int64_t d = delta(in);
        check(cas.add(d, order) == cas_model);
        cas_model = wrap_add(cas_model, d);
        break;
      }
      case 1:
        check(cas.increment(order) == cas_model);
        cas_model = wrap_add(cas_model, 1);
        break;
      case 2: {  // running maximum
        const std::int64_t x = delta(in);
        check(cas.update([x](std::int64_t v) { return std::max(v, x); }, order) == cas_model);
        cas_model = std::max(cas_model, x);
        break;
      }
      case 3: {  // saturating decrement by d >= 0, floor 0
        const std::int64_t d = in.byte();
        const auto dec = [d](std::int64_t v) { return v > d ? v - d : std::min<std::int64_t>(v, 0); };
        check(cas.update(dec, order) == cas_model);
        cas_model = dec(cas_model);
        break;
      }
      case 4:  // identity: writes nothing
        check(cas.update([](std::int64_t v) { return v; }, order) == cas_model);
        break;
      case 5:  // a throwing f writes nothing
        check(throws<user_error>([&] {
          (void)cas.update([](std::int64_t) -> std::int64_t { throw user_error{}; }, order);
        }));
        break;
      case 6: {
        const std::int64_t d = delta(in);
        sharded.add(d);
        sharded_model = wrap_add(sharded_model, d);
        break;
      }
      case 7:
        sharded.increment();
        sharded_model = wrap_add(sharded_model, 1);
        break;
      default:
        check(cas.load(load_orders[(op >> 4) % 3]) == cas_model);
        break;
    }
    check(cas.load() == cas_model);
    check(sharded.load() == sharded_model);
  }
}

// ---------------------------------------------------------- versioned cells

struct odd13 {
  std::array<std::uint8_t, 13> b;
};


template <class T>
T mutate(T v, std::uint8_t x) {
  reinterpret_cast<unsigned char*>(&v)[x % sizeof(T)] ^= static_cast<unsigned char>(x | 1);
  return v;
}

template <class T>
void fuzz_versioned_cell(input& in) {
  using cell_t = quiesce::versioned_cell<T>;
  using snapshot = typename cell_t::snapshot;
  const T init = value_from<T>(in);
  cell_t cell(init);
  T model = init;
  std::uint64_t version = 0;
  std::vector<snapshot> seen;  // snapshots read earlier (some now stale)

  for (int step = 0; step < 512 && !in.done(); ++step) {
    switch (in.byte() % 8) {
      case 0: {
        const snapshot s = cell.read();
        check(same(s.value, model) && s.version == version);
        if (seen.size() < 16) seen.push_back(s);
        else seen[in.byte() % 16] = s;
        break;
      }
      case 1: {  // try_commit with a remembered snapshot: succeeds iff it is current
        if (seen.empty()) break;
        const snapshot s = seen[in.byte() % seen.size()];
        const T desired = value_from<T>(in);
        const bool current = s.version == version;
        check(cell.try_commit(s, desired) == current);
        if (current) {
          model = desired;
          ++version;
        }
        break;
      }
      case 2: {  // a fabricated snapshot: a future version, or a huge one
        const std::uint8_t k = in.byte();
        snapshot s{model, 0};
        switch (k % 4) {
          case 0: s.version = version + 1 + k / 4; break;
          case 1: s.version = version + (std::uint64_t{1} << 63); break;
          case 2: s.version = u64_max - k / 4; break;
          default: s.version = u64(in); break;
        }
        const bool current = s.version == version;
        const T desired = value_from<T>(in);
        check(cell.try_commit(s, desired) == current);
        if (current) {
          model = desired;
          ++version;
        }
        break;
      }
      case 3: {
        const std::uint8_t x = in.byte();
        const T out = cell.update([x](const T& v) { return mutate(v, x); }, {.max_retries = 0});
        model = mutate(model, x);
        ++version;
        check(same(out, model));
        break;
      }
      case 4:  // a throwing f commits nothing
        check(throws<user_error>([&] { (void)cell.update([](const T&) -> T { throw user_error{}; }); }));
        break;
      case 5: {
        const T v = value_from<T>(in);
        cell.store(v);
        model = v;
        ++version;
        break;
      }
      default: check(cell.version() == version); break;
    }
    const snapshot now = cell.read();
    check(same(now.value, model) && now.version == version && cell.version() == version);
  }
}

// ---------------------------------------------------------------------- STM

constexpr std::size_t n_tvars = 24;  // more than the 16 inline write-log entries

struct stm_world {
  std::array<quiesce::tvar<std::int64_t>, n_tvars> vars;
  quiesce::tvar<odd13> odd{};
  std::vector<std::int64_t> model = std::vector<std::int64_t>(n_tvars, 0);
  odd13 odd_model{};
};

// One decoded transaction operation.
struct tx_op {
  enum kind : std::uint8_t { read, write, load, read_odd, write_odd, read_only, nested_begin, nested_end, fail };
  kind k;
  std::uint8_t index;
  std::int64_t value;
  odd13 odd_value;
  bool catch_inner;  // nested_begin: the outer catches the inner's exception
};

std::vector<tx_op> decode_tx(input& in) {
  std::vector<tx_op> ops;
  const std::size_t n = in.byte() % 100;
  int depth = 0;
  for (std::size_t i = 0; i < n && !in.done(); ++i) {
    tx_op op{};
    const std::uint8_t b = in.byte();
    switch (b % 16) {
      case 0: case 1: case 2: case 3:
        op.k = tx_op::read;
        op.index = static_cast<std::uint8_t>(in.byte() % n_tvars);
        break;
      case 4: case 5: case 6: case 7:
        op.k = tx_op::write;
        op.index = static_cast<std::uint8_t>(in.byte() % n_tvars);
        op.value = delta(in);
        break;
      case 8: op.k = tx_op::load; op.index = static_cast<std::uint8_t>(in.byte() % n_tvars); break;
      case 9: op.k = tx_op::read_odd; break;
      case 10: op.k = tx_op::write_odd; op.odd_value = value_from<odd13>(in); break;
      case 11: op.k = tx_op::read_only; break;
      case 12:
        if (depth >= 3) continue;
        op.k = tx_op::nested_begin;
        op.catch_inner = (b >> 4) & 1;
        ++depth;
        break;
      case 13:
        if (depth == 0) continue;
        op.k = tx_op::nested_end;
        --depth;
        break;
      case 14:
        if ((b >> 4) % 4 != 0) continue;  // rarely: most transactions should commit
        op.k = tx_op::fail;
        break;
      default: op.k = tx_op::read; op.index = static_cast<std::uint8_t>(b >> 4) % n_tvars; break;
    }
    ops.push_back(op);
  }
  while (depth-- > 0) ops.push_back(tx_op{tx_op::nested_end, 0, 0, {}, false});
  return ops;
}

// The transaction's view during one run of its function.
struct tx_view {
  std::vector<std::int64_t> values;
  odd13 odd;
  bool wrote = false;
  std::int64_t sum = 0;  // of everything read: the function's result
};

// Runs ops[i..] up to the matching nested_end (or the end); returns the
// index after it. Throws user_error at a `fail`.
std::size_t run_ops(stm_world& w, quiesce::transaction& tx, const std::vector<tx_op>& ops, std::size_t i,
                    tx_view& view) {
  while (i < ops.size()) {
    const tx_op& op = ops[i++];
    switch (op.k) {
      case tx_op::read: {
        const std::int64_t v = tx.read(w.vars[op.index]);
        check(v == view.values[op.index]);
        view.sum = wrap_add(view.sum, v);
        break;
      }
      case tx_op::write:
        tx.write(w.vars[op.index], op.value);
        view.values[op.index] = op.value;
        view.wrote = true;
        break;
      case tx_op::load:  // outside the transaction: the committed value
        check(w.vars[op.index].load() == w.model[op.index]);
        break;
      case tx_op::read_odd:
        check(same(tx.read(w.odd), view.odd));
        break;
      case tx_op::write_odd:
        tx.write(w.odd, op.odd_value);
        view.odd = op.odd_value;
        view.wrote = true;
        break;
      case tx_op::read_only: check(tx.read_only() == !view.wrote); break;
      case tx_op::nested_begin: {
        // Flat nesting: the inner function runs once, on the same transaction.
        std::size_t next = i;
        const auto inner = [&](quiesce::transaction& itx) {
          check(&itx == &tx);
          next = run_ops(w, itx, ops, i, view);
          return view.sum;
        };
        if (op.catch_inner) {
          try {
            const std::int64_t r = quiesce::atomically(inner, quiesce::stm_options{.max_retries = 0});
            check(r == view.sum);
          } catch (const user_error&) {
            // Caught by the outer: the inner writes made so far stay. Skip
            // the rest of the inner block.
            int depth = 1;
            next = i;
            while (next < ops.size() && depth > 0) {
              if (ops[next].k == tx_op::nested_begin) ++depth;
              if (ops[next].k == tx_op::nested_end) --depth;
              ++next;
            }
          }
        } else {
          const std::int64_t r = quiesce::atomically(inner);
          check(r == view.sum);
        }
        i = next;
        break;
      }
      case tx_op::nested_end: return i;
      case tx_op::fail: throw user_error{};
    }
  }
  return i;
}

void fuzz_stm(input& in) {
  stm_world w;
  for (int t = 0; t < 64 && !in.done(); ++t) {
    const std::vector<tx_op> ops = decode_tx(in);
    tx_view final_view;
    int runs = 0;
    bool failed = false;
    try {
      const std::int64_t sum = quiesce::atomically(
          [&](quiesce::transaction& tx) {
            ++runs;
            tx_view view{w.model, w.odd_model};
            run_ops(w, tx, ops, 0, view);
            final_view = view;
            return view.sum;
          },
          quiesce::stm_options{.max_retries = 0});
      check(sum == final_view.sum);
    } catch (const user_error&) {
      failed = true;
    }
    check(runs == 1);  // one thread: no conflict, so no retry
    if (!failed) {
      w.model = final_view.values;
      w.odd_model = final_view.odd;
    }
    for (std::size_t i = 0; i < n_tvars; ++i) check(w.vars[i].load() == w.model[i]);
    check(same(w.odd.load(), w.odd_model));
    // A read-only transaction over everything sees the same; three passes,
    // so that its read log outgrows the descriptor's 64 inline entries.
    quiesce::atomically([&](quiesce::transaction& tx) {
      for (int pass = 0; pass < 3; ++pass) {
        for (std::size_t i = 0; i < n_tvars; ++i) check(tx.read(w.vars[i]) == w.model[i]);
        check(same(tx.read(w.odd), w.odd_model));
      }
      check(tx.read_only());
    });
  }
}

// ------------------------------------------------------------ vector clocks

using vclock = quiesce::basic_vector_clock<4>;

struct vc_model {
  std::map<std::uint32_t, std::uint64_t> c;  // absent: 0
  std::size_t size = 0;
  [[nodiscard]] std::uint64_t at(std::uint32_t id) const {
    const auto it = c.find(id);
    return it == c.end() ? 0 : it->second;
  }
};

std::partial_ordering model_order(const vc_model& a, const vc_model& b) {
  bool less = false, greater = false;
  std::map<std::uint32_t, int> ids;
  for (const auto& [id, v] : a.c) ids[id];
  for (const auto& [id, v] : b.c) ids[id];
  for (const auto& [id, unused] : ids) {
    less |= a.at(id) < b.at(id);
    greater |= a.at(id) > b.at(id);
  }
  if (less && greater) return std::partial_ordering::unordered;
  if (less) return std::partial_ordering::less;
  if (greater) return std::partial_ordering::greater;
  return std::partial_ordering::equivalent;
}

bool matches(const vclock& v, const vc_model& m) {
  if (v.size() != m.size || v.counters().size() != m.size) return false;
  std::vector<std::uint64_t> want(m.size, 0);
  for (const auto& [id, x] : m.c) {
    if (id < m.size) want[id] = x;
    else if (x != 0) return false;
  }
  const auto got = v.counters();
  if (!std::equal(got.begin(), got.end(), want.begin())) return false;
  for (std::uint32_t id : {std::uint32_t{0}, static_cast<std::uint32_t>(m.size), std::uint32_t{64},
                           std::uint32_t{1} << 16})
    if (v[id] != m.at(id)) return false;
  return true;
}

std::uint32_t vc_id(input& in) {
  const std::uint8_t b = in.byte();
  if (b >= 250) return static_cast<std::uint32_t>(vclock::max_processes) + (b - 250) * 1000;  // out of range
  return b % 64;
}

std::uint64_t vc_counter(input& in) {
  const std::uint8_t b = in.byte();
  if (b >= 0xf0) return u64_max - (0xff - b);  // at or near the maximum
  return b % 8;
}

void fuzz_vector_clocks(input& in) {
  std::array<vclock, 4> clocks;
  std::array<vc_model, 4> models;
  for (int step = 0; step < 512 && !in.done(); ++step) {
    const std::uint8_t op = in.byte();
    const std::size_t a = (op >> 4) & 3, b = (op >> 6) & 3;
    vclock& x = clocks[a];
    vc_model& mx = models[a];
    switch (op % 9) {
      case 0: {
        const std::uint32_t id = vc_id(in);
        if (id >= vclock::max_processes) {
          check(throws<std::out_of_range>([&] { (void)x.increment(id); }));
        } else if (mx.at(id) == u64_max) {
          check(throws<std::overflow_error>([&] { (void)x.increment(id); }));
        } else {
          const std::uint64_t r = x.increment(id);
          mx.c[id] = mx.at(id) + 1;
          mx.size = std::max<std::size_t>(mx.size, id + 1);
          check(r == mx.at(id));
        }
        break;
      }
      case 1: {  // merge (also with itself)
        vc_model merged = mx;
        for (const auto& [id, v] : models[b].c) merged.c[id] = std::max(merged.at(id), v);
        merged.size = std::max(mx.size, models[b].size);
        x.merge(clocks[b]);
        mx = merged;
        break;
      }
      case 2: {  // receive (also of itself)
        const std::uint32_t id = vc_id(in);
        const vc_model& mm = models[b];
        if (id >= vclock::max_processes) {
          check(throws<std::out_of_range>([&] { (void)x.receive(id, clocks[b]); }));
        } else if (std::max(mx.at(id), mm.at(id)) == u64_max) {
          check(throws<std::overflow_error>([&] { (void)x.receive(id, clocks[b]); }));
        } else {
          vc_model merged = mx;
          for (const auto& [i, v] : mm.c) merged.c[i] = std::max(merged.at(i), v);
          merged.size = std::max({mx.size, mm.size, std::size_t{id} + 1});
          merged.c[id] = merged.at(id) + 1;
          check(x.receive(id, clocks[b]) == merged.at(id));
          mx = merged;
        }
        break;
      }
      case 3: {  // construction from counters (some at the maximum)
        std::vector<std::uint64_t> counters(in.byte() % 20);
        vc_model m;
        for (std::size_t i = 0; i < counters.size(); ++i) {
          counters[i] = vc_counter(in);
          if (counters[i] != 0) m.c[static_cast<std::uint32_t>(i)] = counters[i];
        }
        m.size = counters.size();
        x = vclock(std::span<const std::uint64_t>(counters));
        mx = m;
        break;
      }
      case 4:  // copy assignment (also to itself)
        x = clocks[b];
        mx = models[b];
        break;
      case 5:
        if (a != b) {  // move assignment: the source is left empty
          x = std::move(clocks[b]);
          mx = models[b];
          clocks[b] = vclock{};
          models[b] = vc_model{};
        }
        break;
      case 6: {  // copy and move construction
        vclock copy(clocks[b]);
        check(matches(copy, models[b]));
        vclock moved(std::move(copy));
        check(matches(moved, models[b]));
        break;
      }
      default: {  // the partial order
        const std::partial_ordering want = model_order(mx, models[b]);
        check((x <=> clocks[b]) == want);
        check(quiesce::compare(x, clocks[b]) == want);
        check((x == clocks[b]) == (want == std::partial_ordering::equivalent));
        check(quiesce::happens_before(x, clocks[b]) == (want == std::partial_ordering::less));
        check(quiesce::concurrent_with(x, clocks[b]) == (want == std::partial_ordering::unordered));
        check((clocks[b] <=> x) == (want == std::partial_ordering::less      ? std::partial_ordering::greater
                                    : want == std::partial_ordering::greater ? std::partial_ordering::less
                                                                             : want));
        break;
      }
    }
    check(matches(x, mx) && matches(clocks[b], models[b]));  // the clocks this step touched
  }
}

// ---------------------------------------------------- hybrid logical clocks

// The fake physical time, in nanoseconds since the Unix epoch (may be
// negative or beyond 2106: the clock must then throw std::range_error).
struct fake_time {
  std::int64_t ns = 0;
};
struct duration_source {
  const fake_time* t;
  std::chrono::nanoseconds operator()() const noexcept { return std::chrono::nanoseconds(t->ns); }
};
struct time_point_source {
  const fake_time* t;
  std::chrono::system_clock::time_point operator()() const noexcept {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(t->ns)));
  }
};

constexpr std::int64_t ns_per_s = 1'000'000'000;
constexpr std::uint64_t max_l = quiesce::hlc_timestamp::max_l;

// Physical time in 2^-16 s ticks, or nullopt outside [1970, 2106).
std::optional<std::uint64_t> model_ticks(std::int64_t ns) {
  if (ns < 0) return std::nullopt;
  const auto secs = static_cast<std::uint64_t>(ns / ns_per_s);
  if (secs > (max_l >> 16)) return std::nullopt;
  return secs << 16 | (static_cast<std::uint64_t>(ns % ns_per_s) << 16) / ns_per_s;
}

// floor(ticks * 1e9 / 2^16) ns.
std::int64_t model_ticks_to_ns(std::uint64_t ticks) {
  return static_cast<std::int64_t>((static_cast<unsigned __int128>(ticks) * ns_per_s) >> 16);
}

// The most ticks whose length in ns (rounded down) is <= max_skew.
std::uint64_t model_skew_ticks(std::int64_t max_skew_ns) {
  if (max_skew_ns >= std::int64_t{24 * 365 * 100} * 3600 * ns_per_s) return u64_max;
  // floor(t * 1e9 / 2^16) <= M  <=>  t * 1e9 < (M + 1) * 2^16
  const unsigned __int128 bound = (static_cast<unsigned __int128>(max_skew_ns) + 1) << 16;
  return static_cast<std::uint64_t>((bound - 1) / ns_per_s);
}

template <class Source>
void fuzz_hlc(input& in) {
  using hlc_t = quiesce::hybrid_logical_clock<Source>;
  fake_time t{static_cast<std::int64_t>(1'700'000'000) * ns_per_s + (static_cast<std::int64_t>(in.u16()) << 16)};
  std::chrono::nanoseconds max_skew;
  switch (in.byte() % 6) {
    case 0: max_skew = hlc_t::default_max_skew; break;
    case 1: max_skew = hlc_t::unbounded_skew; break;
    case 2: max_skew = std::chrono::nanoseconds(in.u16()); break;  // below a few ticks
    case 3: max_skew = std::chrono::nanoseconds(static_cast<std::int64_t>(in.u16()) * 1000); break;
    case 4: max_skew = std::chrono::hours(24 * 365 * 100) - std::chrono::nanoseconds(in.byte()); break;
    default: max_skew = std::chrono::nanoseconds(-1 - static_cast<std::int64_t>(in.byte())); break;
  }
  if (max_skew.count() < 0) {
    check(throws<std::invalid_argument>([&] { hlc_t c(max_skew, Source{&t}); }));
    return;
  }
  hlc_t clock(max_skew, Source{&t});
  check(clock.max_skew() == max_skew);
  const std::uint64_t skew_ticks = model_skew_ticks(max_skew.count());
  std::uint64_t state = 0;  // the model's packed word: l << 16 | c

  // new = max(pt << 16, max(old, other) + 1); nullopt: overflow_error.
  const auto advance = [&](std::uint64_t floor, std::uint64_t other) -> std::optional<std::uint64_t> {
    const std::uint64_t base = std::max(state, other);
    if (base == u64_max) return std::nullopt;
    return std::max(floor, base + 1);
  };
  // A successful stamp: exact, strictly increasing, l >= physical time.
  const auto stamped = [&](quiesce::hlc_timestamp ts, std::uint64_t expect, std::uint64_t pt) {
    check(ts.bits() == expect && expect > state && ts.l() >= pt);
    check(ts == quiesce::hlc_timestamp::from_bits(expect) && ts.l() == expect >> 16 && ts.c() == (expect & 0xffff));
    state = expect;
  };

  for (int step = 0; step < 512 && !in.done(); ++step) {
    const std::uint8_t op = in.byte();
    switch (op % 10) {
      case 0: t.ns += in.byte(); break;                                 // under a tick, or a few
      case 1: t.ns += static_cast<std::int64_t>(in.u16()) * 1'000'000; break;  // up to a minute
      case 2: t.ns -= static_cast<std::int64_t>(in.u16()) * 10'000; break;     // NTP steps back
      case 3: {  // the edges of the representable range
        switch (in.byte() % 5) {
          case 0: t.ns = -1 - in.byte(); break;
          case 1: t.ns = 0; break;
          case 2: t.ns = static_cast<std::int64_t>(max_l >> 16) * ns_per_s + ns_per_s - 1 - in.byte(); break;
          case 3: t.ns = static_cast<std::int64_t>((max_l >> 16) + 1) * ns_per_s + in.byte(); break;
          default: t.ns = static_cast<std::int64_t>(1'700'000'000) * ns_per_s + in.u16(); break;
        }
        break;
      }
      case 4: case 5: case 6: {  // now() / send(), possibly a burst (c carries into l)
        const int n = op % 10 == 6 ? 1 + in.byte() * 4 : 1;
        for (int k = 0; k < n; ++k) {
          const std::optional<std::uint64_t> pt = model_ticks(t.ns);
          if (!pt) {
            check(throws<std::range_error>([&] { (void)clock.now(); }));
            break;
          }
          const std::optional<std::uint64_t> want = advance(*pt << 16, 0);
          if (!want) {
            check(throws<std::overflow_error>([&] { (void)clock.send(); }));
            break;
          }
          stamped(op % 2 ? clock.now() : clock.send(), *want, *pt);
        }
        break;
      }
      case 7: case 8: {  // receive
        const std::optional<std::uint64_t> pt = model_ticks(t.ns);
        std::uint64_t l;
        const std::uint8_t mode = in.byte();
        const std::uint64_t base_l = pt ? *pt : state >> 16;
        switch (mode % 5) {
          case 0: l = base_l + (skew_ticks == u64_max ? 0 : skew_ticks) + (mode >> 3) % 3; break;  // the bound's edge
          case 1: l = base_l > 64 ? base_l - in.byte() % 64 : 0; break;
          case 2: l = state >> 16; break;                                 // a tie with the clock's l
          case 3: l = base_l + in.u16(); break;
          default: l = u64(in) >> 16; break;                              // anything, up to max_l
        }
        l = std::min(l, max_l);
        const std::uint64_t c = mode >= 0xf0 ? 0xffff : in.byte();
        const quiesce::hlc_timestamp remote(l, c);
        if (!pt) {
          check(throws<std::range_error>([&] { (void)clock.receive(remote); }));
          break;
        }
        if (l > *pt && l - *pt > skew_ticks) {
          bool caught = false;
          try {
            (void)clock.receive(remote);
          } catch (const quiesce::hlc_clock_skew_error& e) {
            caught = true;
            check(e.remote() == remote && e.local_physical() == *pt && e.max_skew() == max_skew);
            check(e.skew().count() == model_ticks_to_ns(l - *pt) && e.skew() > max_skew);
          }
          check(caught);
          break;
        }
        const std::optional<std::uint64_t> want = advance(*pt << 16, remote.bits());
        if (!want) {
          check(throws<std::overflow_error>([&] { (void)clock.receive(remote); }));
          break;
        }
        const quiesce::hlc_timestamp got = clock.receive(remote);
        check(got > remote);
        stamped(got, *want, *pt);
        break;
      }
      default: {  // hlc_timestamp's checked constructor
        const std::uint64_t l = u64(in) >> (in.byte() % 20);
        const std::uint64_t c = in.u16() + (op >> 7);  // 0 .. 65,536
        if (l > max_l || c > 0xffff) {
          check(throws<std::out_of_range>([&] { (void)quiesce::hlc_timestamp(l, c); }));
        } else {
          const quiesce::hlc_timestamp ts(l, c);
          check(ts.l() == l && ts.c() == c && ts.bits() == (l << 16 | c));
        }
        break;
      }
    }
    // Errors leave the clock unchanged; every success is the model's word.
    check(clock.last().bits() == state);
    if (const auto pt = model_ticks(t.ns)) check(clock.physical_ticks() == *pt);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(data, size);
  switch (in.byte() % 7) {
    case 0: fuzz_counters(in); break;
    case 1: fuzz_versioned_cell<std::uint64_t>(in); break;
    case 2: fuzz_versioned_cell<odd13>(in); break;
    case 3: fuzz_stm(in); break;
    case 4: fuzz_vector_clocks(in); break;
    case 5: fuzz_hlc<duration_source>(in); break;
    default: fuzz_hlc<time_point_source>(in); break;
  }
  return 0;
}
