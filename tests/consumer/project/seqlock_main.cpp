// A program that uses only the seqlock family: it links quiesce::seqlock,
// which needs neither liburcu nor libnuma (run_consumer_test.sh checks the
// link line and ldd).
#include <quiesce/counter.hpp>
#include <quiesce/seqlock.hpp>
#include <quiesce/versioned_cell.hpp>

#include <cstdio>

struct point {
  int x = 0, y = 0;
};

int main() {
  quiesce::seqlock<point> p;
  p.store({1, 2});
  const point q = p.load();
  quiesce::seqcount_latch<point> latch;
  latch.store({3, 4});
  const point r = latch.load();
  quiesce::versioned_cell<point> cell;
  cell.store({5, 6});
  const point c = cell.read().value;
  quiesce::sharded_counter hits;
  hits.add(3);
  if (q.x != 1 || q.y != 2 || r.x != 3 || r.y != 4 || c.x != 5 || c.y != 6 || hits.load() != 3) return 1;
  std::puts("seqlock consumer: seqlock, seqcount_latch, versioned_cell and sharded_counter work");
  return 0;
}
