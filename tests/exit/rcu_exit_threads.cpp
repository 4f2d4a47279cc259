// Threads that exit while registered (implicitly, by their first read-side
// guard) are unregistered at exit: grace periods afterwards do not wait for
// them, and nothing leaks (LeakSanitizer in the address build).
#include <quiesce/rcu.hpp>

#include <cstdio>
#include <thread>
#include <vector>

int main() {
  for (int round = 0; round < 4; ++round) {
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i)
      ts.emplace_back([i] {
        { quiesce::rcu_read_guard g; }
        { quiesce::rcu_read_guard g{quiesce::rcu_mb()}; }
        { quiesce::rcu_read_guard g{quiesce::rcu_bp()}; }
        quiesce::rcu_retire(new int(i));
      });
    for (auto& t : ts) t.join();
    quiesce::rcu_synchronize();
    quiesce::rcu_mb().synchronize();
    quiesce::rcu_bp().synchronize();
  }
  std::printf("ok\n");
  return 0;
}
