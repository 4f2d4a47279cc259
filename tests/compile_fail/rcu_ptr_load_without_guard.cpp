// Must not compile: reading an rcu_ptr without a read-side guard.
#include <quiesce/rcu.hpp>
int main() {
  quiesce::rcu_ptr<int> p;
  int not_a_guard = 0;
  return *p.load(not_a_guard);
}
