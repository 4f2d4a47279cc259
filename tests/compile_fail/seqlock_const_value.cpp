// Must not compile: a seqlock of a const T could never be stored to.
#include <quiesce/seqlock.hpp>
int main() {
  quiesce::seqlock<const int> s{1};
  return s.load();
}
