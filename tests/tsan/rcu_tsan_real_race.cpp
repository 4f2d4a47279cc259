// A real bug that RCU does not excuse: the writer modifies an object after
// publishing it, while a reader reads it under a read-side guard. quiesce's
// TSan annotations order readers before reclamation only; this race must
// still be reported (the ctest passes on TSan's report).
#include <quiesce/rcu.hpp>

#include <atomic>
#include <cstdio>
#include <thread>

struct conf {
  int port = 1;
};

int main() {
  std::atomic<conf*> shared{nullptr};
  std::atomic<bool> read_done{false};
  std::thread reader([&] {
    conf* c = nullptr;
    while (c == nullptr) {
      quiesce::rcu_read_guard g;
      c = shared.load(std::memory_order_acquire);
      if (c) std::printf("reader saw port %d\n", c->port);  // races with the write below
    }
    read_done = true;
  });
  auto* c = new conf;
  shared.store(c, std::memory_order_release);
  c->port = 2;  // BUG: written after publication, with no retire/copy
  reader.join();
  shared.store(nullptr);
  quiesce::rcu_retire(c);
  quiesce::rcu_barrier();
  return 0;
}
