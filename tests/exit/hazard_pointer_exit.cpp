// Exit with hazard-pointer objects still retired: the default domain's
// at-exit cleanup frees them (LeakSanitizer in the address build would
// report any left), and it runs while everything it uses is still alive.
// Regression: the cleanup used to call numa::current_node() after that
// function's CPU -> node table (first built after the handler was
// registered) had been destroyed: a heap-use-after-free at exit, found by
// ASan when a program's first lock-free call was a pop. Also retires from a
// thread that has exited, and from the main thread after its thread_locals
// died (a static destructor).
#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/treiber_stack.hpp>

#include <cstdio>
#include <thread>

namespace {

struct obj : quiesce::hazard_pointer_obj_base<obj> {
  int v = 1;
};

struct retire_at_exit {
  ~retire_at_exit() { (new obj)->retire(); }
};

}  // namespace

int main() {
  static quiesce::lockfree::treiber_stack<int> s;  // first hazard-pointer use: a pop
  (void)s.pop();
  s.push(1);
  s.push(2);
  (void)s.pop();
  static retire_at_exit late;  // destroyed before the default domain's handler runs
  std::thread t([] {
    for (int i = 0; i < 100; ++i) (new obj)->retire();
  });
  t.join();
  std::puts("ok");
  return 0;
}
