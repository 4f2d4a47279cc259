// tests/fuzz/fuzz_seqlock_disruptor.cpp — libFuzzer target, single-threaded:
//  * seqlock<T> and seqcount_latch<T> store/update/load/try_load sequences
//    compared with a plain T (three T sizes: a tail-only 5-byte value, a
//    13-byte value with a partial last word, a 40-byte value);
//  * a Disruptor ring_buffer over a single_producer_sequencer and one over a
//    multi_producer_sequencer, driven with next/try_next/publish/consume/
//    remaining_capacity/has_available_capacity/is_available and random n,
//    compared with a model of the ring (claimed, published, consumed).
//    Invalid n, ring sizes and null gating sequences must throw
//    std::invalid_argument; next() is called only when the model says it
//    would not wait (it blocks on a full ring by contract).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include <quiesce/disruptor.hpp>
#include <quiesce/seqlock.hpp>

#include "fuzz_input.hpp"

namespace {

using quiesce::fuzz::check;
using quiesce::fuzz::input;
using quiesce::fuzz::same;
using quiesce::fuzz::value_from;

struct tiny {
  std::array<std::uint8_t, 5> b;
};
struct odd13 {
  std::array<std::uint8_t, 13> b;
};
struct wide {
  std::array<std::uint64_t, 5> w;
};


struct update_failed {};

// One seqlock/latch step: op selects store/update/load/try_load.
template <class T>
void seqlock_step(quiesce::seqlock<T>& s, quiesce::seqcount_latch<T>& l, T& model_s, T& model_l, input& in) {
  switch (in.byte() % 6) {
    case 0: {
      const T v = value_from<T>(in);
      s.store(v);
      model_s = v;
      break;
    }
    case 1: {
      const std::uint8_t x = in.byte();
      s.update([x](T& t) { reinterpret_cast<unsigned char*>(&t)[x % sizeof(T)] ^= x | 1; });
      reinterpret_cast<unsigned char*>(&model_s)[x % sizeof(T)] ^= x | 1;
      break;
    }
    case 2: {  // an update that throws stores nothing
      bool threw = false;
      try {
        s.update([](T& t) {
          reinterpret_cast<unsigned char*>(&t)[0] ^= 0xff;
          throw update_failed{};
        });
      } catch (const update_failed&) {
        threw = true;
      }
      check(threw);
      break;
    }
    case 3: {
      const T v = value_from<T>(in);
      l.store(v);
      model_l = v;
      break;
    }
    default: break;
  }
  check(same(s.load(), model_s));
  check(same(l.load(), model_l));
  T out;
  check(s.try_load(out) && same(out, model_s));  // no writer running: never fails
  check(l.try_load(out) && same(out, model_l));
}

template <class T>
void fuzz_seqlocks(input& in, int steps) {
  T init = value_from<T>(in);
  quiesce::seqlock<T> s(init);
  quiesce::seqcount_latch<T> l(init);
  T model_s = init, model_l = init;
  for (int i = 0; i < steps && !in.done(); ++i) seqlock_step(s, l, model_s, model_l, in);
}

template <class F>
bool throws_invalid_argument(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

constexpr std::int64_t stamp(std::int64_t seq) { return seq * 7919 + 13; }

// The ring's model. Sequences: claimed (highest handed out), consumed (the
// gating consumer's sequence); published: the set of claimed sequences made
// visible (single producer: always a prefix, so `cursor` suffices).
template <class Sequencer, bool Multi>
void fuzz_ring(input& in, std::size_t size) {
  using ring_t = quiesce::disruptor::ring_buffer<std::int64_t, Sequencer>;
  ring_t ring(size, [] { return std::int64_t{-1}; });
  quiesce::disruptor::sequence consumer;
  ring.add_gating_sequences({&consumer});
  check(throws_invalid_argument([&] { ring.add_gating_sequences({nullptr}); }));
  const auto cap = static_cast<std::int64_t>(size);
  std::int64_t claimed = -1, consumed = -1, cursor = -1;  // cursor: highest contiguous published
  std::set<std::int64_t> unpublished;                     // claimed, not yet published
  std::vector<std::int64_t> claims;                       // multi: claim batches' highest sequence

  auto claim = [&](std::int64_t hi, std::int64_t n) {
    check(hi == claimed + n);
    for (std::int64_t s = claimed + 1; s <= hi; ++s) {
      ring[s] = stamp(s);
      unpublished.insert(s);
    }
    claimed = hi;
  };
  for (int steps = 0; steps < 512 && !in.done(); ++steps) {
    const std::uint8_t op = in.byte();
    // n: mostly valid, sometimes 0, negative or larger than the ring.
    const std::int64_t n = static_cast<std::int64_t>(in.byte() % (size + 3)) - 1;
    const bool valid = n >= 1 && n <= cap;
    const std::int64_t free_slots = cap - (claimed - consumed);
    switch (op % 6) {
      case 0:  // next(n), only when it cannot wait
        if (!valid) {
          check(throws_invalid_argument([&] { (void)ring.next(n); }));
        } else if (n <= free_slots) {
          claim(ring.next(n), n);
        }
        break;
      case 1: {  // try_next(n)
        if (!valid) {
          check(throws_invalid_argument([&] { (void)ring.try_next(n); }));
          break;
        }
        const std::optional<std::int64_t> hi = ring.try_next(n);
        check(hi.has_value() == (n <= free_slots));
        if (hi) claim(*hi, n);
        break;
      }
      case 2: {  // publish: the single producer publishes a prefix; multi any claimed slot range
        if (unpublished.empty()) break;
        std::int64_t lo = *unpublished.begin();
        if (Multi) {
          auto it = unpublished.begin();
          const auto pick = static_cast<std::ptrdiff_t>(n < 0 ? 0 : n);
          std::advance(it, pick % static_cast<std::ptrdiff_t>(unpublished.size()));
          lo = *it;
        }
        std::int64_t hi = lo;  // extend over consecutive unpublished sequences, up to n
        while (hi - lo + 1 < n && unpublished.count(hi + 1) == 1) ++hi;
        if (lo == hi && (op & 0x40)) {
          ring.publish(lo);
        } else {
          ring.publish(lo, hi);
        }
        for (std::int64_t s = lo; s <= hi; ++s) unpublished.erase(s);
        cursor = unpublished.empty() ? claimed : *unpublished.begin() - 1;
        break;
      }
      case 3: {  // consume up to n published events, checking their contents
        const std::int64_t avail = ring.sequencer().highest_published_sequence(consumed + 1, ring.cursor());
        check(avail == cursor);
        const std::int64_t upto = std::min(avail, consumed + (n < 0 ? 0 : n));
        for (std::int64_t s = consumed + 1; s <= upto; ++s) {
          check(ring.is_available(s));
          check(ring[s] == stamp(s));
        }
        consumed = std::max(consumed, upto);
        consumer.set(consumed);
        break;
      }
      case 4:
        if (valid) check(ring.has_available_capacity(n) == (n <= free_slots));
        break;
      default: {  // is_available over the live window
        for (std::int64_t s = std::max<std::int64_t>(0, claimed - cap + 1); s <= claimed; ++s) {
          const bool published = unpublished.count(s) == 0;
          if (Multi) {
            check(ring.is_available(s) == published);
          } else {
            check(ring.is_available(s) == (s <= cursor));
          }
        }
        break;
      }
    }
    check(ring.remaining_capacity() == cap - (claimed - consumed));
    check(ring.cursor() == (Multi ? claimed : cursor));
    check(ring.minimum_gating_sequence() == std::min(consumed, ring.cursor()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(data, size);
  switch (in.byte() % 5) {
    case 0: fuzz_seqlocks<tiny>(in, 256); break;
    case 1: fuzz_seqlocks<odd13>(in, 256); break;
    case 2: fuzz_seqlocks<wide>(in, 256); break;
    default: {
      // Ring size 0..64: anything but a power of two must be refused.
      const std::size_t ring_size = in.byte() % 65;
      using wait = quiesce::disruptor::busy_spin_wait_strategy;
      using single = quiesce::disruptor::single_producer_sequencer<wait>;
      using multi = quiesce::disruptor::multi_producer_sequencer<wait>;
      const bool pow2 = ring_size != 0 && (ring_size & (ring_size - 1)) == 0;
      if (!pow2) {
        const auto zero = [] { return std::int64_t{}; };
        using single_ring = quiesce::disruptor::ring_buffer<std::int64_t, single>;
        using multi_ring = quiesce::disruptor::ring_buffer<std::int64_t, multi>;
        check(throws_invalid_argument([&] { single_ring r(ring_size, zero); }));
        check(throws_invalid_argument([&] { multi_ring r(ring_size, zero); }));
        break;
      }
      if (data[0] % 5 == 3) {
        fuzz_ring<single, false>(in, ring_size);
      } else {
        fuzz_ring<multi, true>(in, ring_size);
      }
      break;
    }
  }
  return 0;
}
