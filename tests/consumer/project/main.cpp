// A program that uses the installed quiesce and nothing else of its sources.
#include <quiesce/hazard_pointer.hpp>
#include <quiesce/rcu.hpp>
#include <quiesce/version.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

struct config : quiesce::rcu_obj_base<config> {
  int port = 8080;
};

struct node : quiesce::hazard_pointer_obj_base<node> {
  int value = 7;
};

int main() {
  // Hazard pointers (quiesce_structures, which needs quiesce_numa).
  std::atomic<node*> head{new node};
  int value;
  {
    quiesce::hazard_pointer h = quiesce::make_hazard_pointer();
    value = h.protect(head)->value;
  }
  head.exchange(nullptr)->retire();
  quiesce::hazard_pointer_cleanup();
  if (value != 7) return 1;

  quiesce::rcu_ptr<config> cfg{std::make_unique<config>()};
  int port;
  {
    std::scoped_lock l(quiesce::rcu_default_domain());
    port = cfg.load(l)->port;
  }
  cfg.store(std::make_unique<config>());
  quiesce::rcu_barrier();
  static_assert(QUIESCE_VERSION == ((QUIESCE_VERSION_MAJOR << 16) | (QUIESCE_VERSION_MINOR << 8) | QUIESCE_VERSION_PATCH));
  std::printf("consumer read port %d (quiesce %s)\n", port, QUIESCE_VERSION_STRING);
  return port == 8080 ? 0 : 1;
}
