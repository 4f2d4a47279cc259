// Must not compile: load_locked() wants the lock guard that serialises writers.
#include <quiesce/rcu.hpp>
int main() {
  quiesce::rcu_ptr<int> p;
  quiesce::rcu_read_guard g;
  return *p.load_locked(g);
}
