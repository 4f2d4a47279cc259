// Must not compile: a QSBR read-side section cannot be entered from a signal
// handler (the interrupted thread may be offline or mid-quiescent-state).
#include <quiesce/rcu.hpp>
void on_signal(int) { quiesce::rcu_signal_read_guard<quiesce::rcu_qsbr_domain> g; }
int main() { on_signal(0); }
