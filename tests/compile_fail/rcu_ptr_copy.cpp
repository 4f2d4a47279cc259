// Must not compile: an rcu_ptr owns its object and cannot be copied.
#include <quiesce/rcu.hpp>
int main() {
  quiesce::rcu_ptr<int> p;
  quiesce::rcu_ptr<int> q = p;
  return q.empty();
}
