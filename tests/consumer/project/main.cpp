// A program that uses the installed quiesce and nothing else of its sources.
#include <quiesce/rcu.hpp>

#include <cstdio>
#include <memory>
#include <mutex>

struct config : quiesce::rcu_obj_base<config> {
  int port = 8080;
};

int main() {
  quiesce::rcu_ptr<config> cfg{std::make_unique<config>()};
  int port;
  {
    std::scoped_lock l(quiesce::rcu_default_domain());
    port = cfg.load(l)->port;
  }
  cfg.store(std::make_unique<config>());
  quiesce::rcu_barrier();
  std::printf("consumer read port %d\n", port);
  return port == 8080 ? 0 : 1;
}
