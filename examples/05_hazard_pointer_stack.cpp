// 05_hazard_pointer_stack.cpp — a lock-free stack shared by producers and
// consumers, its nodes freed safely through hazard pointers.
//
// quiesce::lockfree::treiber_stack<T> is a linked list whose head is swung by
// compare_exchange: push links a node in front of the head, pop unlinks the
// head. The hard part of a lock-free pop is memory: between reading `head`
// and reading `head->next`, another thread may pop that node and free it
// (use-after-free), or free it and push a new node at the same address so the
// CAS succeeds on a stale `next` (ABA). A hazard pointer fixes both: pop
// publishes "I am using this node" before dereferencing it, and a popped node
// is *retired*, not deleted; it is freed only when no hazard pointer names it.
// (One exception, which needs no waiting: a pop on a thread that holds every
// hazard record of the domain frees its node at once, since no other thread
// can be using it. A stack's pushes protect nothing, so with two consumers
// most pops retire, and a consumer popping alone frees at once.)
//
// Memory ordering in two sentences: a successful push CAS is a release, so a
// popper whose acquire load sees the node also sees its value. Hazard
// publication is made visible to the reclaimer by a process-wide membarrier
// (or seq_cst fences), so a reclaimer can never miss a node a reader is using.
//
// What to look at: pushed == popped, each value popped exactly once (no
// loss, no duplicate), and the hazard-pointer domain's counters: every
// popped node retired (and, after hazard_pointer_cleanup(), reclaimed) or
// freed at once.
#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/treiber_stack.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <optional>
#include <thread>
#include <vector>

int main() {
  constexpr int producers = 2, consumers = 2, per_producer = 20000;
  constexpr int total = producers * per_producer;

  // A domain of our own, so that its counters count only this stack's nodes.
  // It must outlive the stack, so it is declared first.
  quiesce::hazard_pointer_domain domain;
  std::vector<std::vector<std::uint32_t>> popped(consumers);
  {
    quiesce::lockfree::treiber_stack<std::uint32_t> stack(domain);
    std::atomic<int> popped_so_far{0};
    std::latch go(producers + consumers);  // all threads start together, so they overlap
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
      threads.emplace_back([&, p] {  // producer p pushes the values p*N .. p*N + N-1
        go.arrive_and_wait();
        for (int i = 0; i < per_producer; ++i) stack.push(static_cast<std::uint32_t>(p * per_producer + i));
      });
    for (int c = 0; c < consumers; ++c)
      threads.emplace_back([&, c] {  // consumers pop until every value has been popped by someone
        go.arrive_and_wait();
        while (popped_so_far.load(std::memory_order_relaxed) < total) {
          if (std::optional<std::uint32_t> v = stack.pop()) {
            popped[c].push_back(*v);
            popped_so_far.fetch_add(1, std::memory_order_relaxed);
          } else {
            std::this_thread::yield();  // empty for now: the producers are behind
          }
        }
      });
    for (auto& t : threads) t.join();
    std::printf("stack empty at the end: %s\n", stack.empty() ? "yes" : "no");
  }  // the stack is destroyed here (it frees the nodes still on it: none)

  // Every value 0 .. total-1 must have been popped exactly once.
  std::vector<int> times_popped(total, 0);
  long popped_count = 0;
  for (int c = 0; c < consumers; ++c) {
    std::printf("consumer %d popped %zu values\n", c, popped[c].size());
    popped_count += static_cast<long>(popped[c].size());
    for (std::uint32_t v : popped[c]) ++times_popped[v];
  }
  int missing = 0, duplicated = 0;
  for (int n : times_popped) {
    missing += n == 0;
    duplicated += n > 1;
  }
  std::printf("pushed: %d, popped: %ld, values never popped: %d, values popped twice: %d\n", total, popped_count,
              missing, duplicated);

  // Reclaim everything retired to the domain that no hazard pointer protects
  // (none does now), and read the counters.
  quiesce::hazard_pointer_cleanup(domain);
  const quiesce::hazard_pointer_domain_stats st = domain.stats();
  std::printf("hazard-pointer domain: nodes retired %llu, reclaimed %llu, still pending %llu, freed at once %llu\n",
              static_cast<unsigned long long>(st.retired), static_cast<unsigned long long>(st.reclaimed),
              static_cast<unsigned long long>(st.unreclaimed), static_cast<unsigned long long>(st.freed_at_once));

  if (popped_count != total || missing != 0 || duplicated != 0 ||
      st.retired + st.freed_at_once != static_cast<std::uint64_t>(total) || st.unreclaimed != 0) {
    std::printf("FAILED: the stack lost, duplicated or leaked a value\n");
    return 1;
  }
  std::printf("every value popped exactly once\n");
  return 0;
}
