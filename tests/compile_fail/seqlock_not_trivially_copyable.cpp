// Must not compile: readers copy a seqlock's value word by word while a
// writer may be storing it, which only a trivially copyable T survives.
#include <quiesce/seqlock.hpp>
#include <string>
int main() {
  quiesce::seqlock<std::string> s;
  return static_cast<int>(s.load().size());
}
