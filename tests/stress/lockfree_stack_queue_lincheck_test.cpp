// Linearizability of quiesce::treiber_stack and quiesce::ms_queue: many small
// random histories from real threads (tests/lincheck), each checked against
// the sequential LIFO / FIFO specification. A fresh structure per history;
// every other history uses a private hazard-pointer domain with a tiny scan
// threshold, so nodes are reclaimed while the history runs.
#include <quiesce/lockfree.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "lincheck/lincheck.hpp"

namespace {

namespace lc = quiesce::lincheck;
using quiesce::hazard_pointer_domain;

// Histories per structure: a few hundred, < 10 s under TSan on 2 vCPUs.
constexpr int kHistories = quiesce::detail::structures::tsan ? 400 : 1000;

lc::random_options shape(int n) {
  lc::random_options o;
  o.threads = static_cast<std::size_t>(3 + n % 2);    // 3 or 4 threads
  o.ops_per_thread = static_cast<std::size_t>(8 + n % 5);  // 8..12 operations each (<= 48 in all)
  o.seed = static_cast<std::uint64_t>(n) + 1;
  o.sync_every = static_cast<std::size_t>(1 + n % 3);  // how often the threads line up
  return o;
}

template <class Structure>
std::unique_ptr<Structure> make(int n, std::unique_ptr<hazard_pointer_domain>& dom) {
  if (n % 2 == 0) return std::make_unique<Structure>();
  dom = std::make_unique<hazard_pointer_domain>(hazard_pointer_domain::options{.min_threshold = 2});
  return std::make_unique<Structure>(*dom);
}

TEST(TreiberStackLincheck, RandomHistoriesAreLinearizable) {
  for (int n = 0; n < kHistories; ++n) {
    std::unique_ptr<hazard_pointer_domain> dom;
    auto s = make<quiesce::treiber_stack<std::int64_t>>(n, dom);
    lc::stack_spec::callables ops{.push = [&](std::int64_t v) { s->push(v); }, .pop = [&] { return s->pop(); }};
    const auto h = lc::run_random<lc::stack_spec>(ops, shape(n));
    const auto r = lc::check(h);
    ASSERT_TRUE(r.ok) << "history " << n << ": " << r.explanation;
    s.reset();  // before its domain
  }
}

TEST(MsQueueLincheck, RandomHistoriesAreLinearizable) {
  for (int n = 0; n < kHistories; ++n) {
    std::unique_ptr<hazard_pointer_domain> dom;
    auto q = make<quiesce::ms_queue<std::int64_t>>(n, dom);
    lc::queue_spec::callables ops{.enqueue = [&](std::int64_t v) { q->push(v); }, .dequeue = [&] { return q->pop(); }};
    const auto h = lc::run_random<lc::queue_spec>(ops, shape(n));
    const auto r = lc::check(h);
    ASSERT_TRUE(r.ok) << "history " << n << ": " << r.explanation;
    q.reset();
  }
}

}  // namespace
