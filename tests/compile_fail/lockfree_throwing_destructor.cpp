// Must not compile: elements are destroyed inside hazard-pointer scans,
// which are noexcept, so a throwing destructor would terminate the program.
#include <quiesce/lockfree/ms_queue.hpp>
struct throws_on_destruction {
  ~throws_on_destruction() noexcept(false) {}
};
int main() {
  quiesce::lockfree::ms_queue<throws_on_destruction> q;
  return q.empty() ? 0 : 1;
}
