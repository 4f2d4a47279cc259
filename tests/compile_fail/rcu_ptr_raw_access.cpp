// Must not compile: no implicit conversion to a raw pointer.
#include <quiesce/rcu.hpp>
int main() {
  quiesce::rcu_ptr<int> p;
  int* raw = p;
  return raw != nullptr;
}
