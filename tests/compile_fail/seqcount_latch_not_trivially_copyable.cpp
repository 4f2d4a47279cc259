// Must not compile: a latch copies its value word by word, as seqlock does.
#include <quiesce/seqlock.hpp>
#include <memory>
int main() {
  quiesce::seqcount_latch<std::shared_ptr<int>> l;
  return l.load() ? 1 : 0;
}
