// Exits with objects retired to every flavour and no rcu_barrier(): quiesce's
// exit barrier must run every deleter (liburcu 0.13.2 alone leaves them
// queued). The check runs in an atexit handler registered before the first
// retire, so it runs after quiesce's (handlers run in reverse order).
#include <quiesce/rcu.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace {
constexpr int per_flavour = 1000;
std::atomic<int> deleted{0};
struct counted {
  ~counted() { ++deleted; }
  char payload[48];
};
void check() {
  if (deleted.load() != 4 * per_flavour) {
    std::printf("FAIL: %d of %d deleters ran before exit\n", deleted.load(), 4 * per_flavour);
    std::fflush(stdout);
    _exit(1);
  }
  std::printf("ok\n");
  std::fflush(stdout);
}
}  // namespace

int main() {
  std::atexit(check);
  quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
  for (int i = 0; i < per_flavour; ++i) {
    quiesce::rcu_retire(new counted);
    quiesce::rcu_retire(new counted, std::default_delete<counted>(), quiesce::rcu_qsbr());
    quiesce::rcu_retire(new counted, std::default_delete<counted>(), quiesce::rcu_mb());
    quiesce::rcu_retire(new counted, std::default_delete<counted>(), quiesce::rcu_bp());
  }
  return 0;
}
