// Must not compile: a stack of const elements could never be popped (pop()
// moves the element out).
#include <quiesce/lockfree/treiber_stack.hpp>
int main() {
  quiesce::lockfree::treiber_stack<const int> s;
  s.push(1);
  return 0;
}
