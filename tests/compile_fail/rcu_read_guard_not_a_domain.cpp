// Must not compile: a guard of something that is not an RCU domain.
#include <mutex>
#include <quiesce/rcu.hpp>
int main() {
  quiesce::rcu_read_guard<std::mutex> g;
  return 0;
}
