// Must not compile: a guard of another domain does not protect this pointer.
#include <quiesce/rcu.hpp>
int main() {
  quiesce::rcu_ptr<int> p;  // default (memb) domain
  quiesce::rcu_read_guard g{quiesce::rcu_mb()};
  return *p.load(g);
}
