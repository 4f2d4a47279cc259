// Must not compile: explicit resize of a QSBR hash map (see hash_map.hpp).
#include <quiesce/rcu.hpp>
int main() {
  quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
  quiesce::rcu_hash_map<int, int, std::hash<int>, std::equal_to<int>, quiesce::rcu_qsbr_domain> m;
  m.resize(1024);
  return 0;
}
