// 07_disruptor_pipeline.cpp — a three-stage pipeline (decode -> process ->
// log) on an LMAX-style Disruptor, each stage on its own pinned thread.
//
// The Disruptor is a ring of preallocated events. The producer claims a slot,
// fills it and publishes its sequence number; each stage handles every event
// in sequence order, in batches, and publishes how far it got; the next stage
// waits on that. Nothing is allocated or locked per event, and no event is
// copied between stages: they all work on the same slot, one after another.
// The producer may not lap the last stage (log), so the ring never overflows.
//
// Memory ordering in two sentences: a stage publishes its progress with a
// release store of its sequence (once per batch) and the next stage reads it
// with an acquire load, so everything decode wrote into a slot is visible to
// process, and so on. A slot is reused only after log has released it.
//
// Pinning: stage i runs on the i-th CPU that numa::pipeline_cpus() picks
// (neighbouring stages on the closest CPUs: same core, shared cache...). On a
// machine with fewer CPUs than stages the placement wraps around (on 2 CPUs
// decode and log share one), and the yielding wait strategy lets the stages
// that share a CPU take turns instead of spinning against each other.
//
// What to look at: the CPU each stage ran on, the events each stage handled
// (all of them), and "out of order: 0" for every stage.
#include <quiesce/disruptor.hpp>
#include <quiesce/numa.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

using namespace quiesce::disruptor;

struct order_event {  // one ring slot: the wire bytes and what the stages derive from them
  std::int64_t id = 0;
  char wire[32] = {};  // "qty price" as text, as a feed would send it
  std::int64_t qty = 0, price = 0;  // filled by decode
  std::int64_t notional = 0;        // filled by process
};

// Counts what a stage saw and checks that events arrive in publication order.
struct stage_stats {
  int cpu = -1;
  std::int64_t handled = 0, out_of_order = 0, wrong = 0;
  void saw(const order_event& e) {
    if (e.id != handled) ++out_of_order;  // ids are published as 0, 1, 2, ...
    ++handled;
  }
};

struct decode : stage_stats {
  void on_start() { cpu = quiesce::numa::current_cpu(); }  // runs on the stage's (pinned) thread
  void on_event(order_event& e, std::int64_t, bool) {
    const char* end = e.wire + std::strlen(e.wire);
    const auto q = std::from_chars(e.wire, end, e.qty);
    if (q.ec != std::errc{} || q.ptr == end || std::from_chars(q.ptr + 1, end, e.price).ec != std::errc{}) ++wrong;
    saw(e);
  }
};
struct process : stage_stats {
  void on_start() { cpu = quiesce::numa::current_cpu(); }
  void on_event(order_event& e, std::int64_t, bool) {
    e.notional = e.qty * e.price;  // decode's fields are visible: it ran first on this slot
    saw(e);
  }
};
struct log_stage : stage_stats {
  std::int64_t total_notional = 0;
  void on_start() { cpu = quiesce::numa::current_cpu(); }
  void on_event(order_event& e, std::int64_t, bool) {
    if (e.notional != (e.id % 100 + 1) * (1000 + e.id % 7)) ++wrong;  // what the producer encoded
    total_notional += e.notional;
    saw(e);
  }
};

}  // namespace

int main() {
  constexpr std::int64_t events = 20000;
  const auto& topology = quiesce::numa::topology::system();  // probe before anything is pinned
  const std::size_t stages_cpus = std::min<std::size_t>(3, topology.cpus().size());
  const std::vector<int> cpus = quiesce::numa::pipeline_cpus(stages_cpus);
  std::printf("machine: %zu CPUs; pipeline CPUs:", topology.cpus().size());
  for (int c : cpus) std::printf(" %d", c);
  std::printf(" (stage i on CPU list[i %% %zu])\n", cpus.size());

  decode dec;
  process proc;
  log_stage lg;
  disruptor<order_event, single_producer_sequencer<yielding_wait_strategy>> d{1024, [] { return order_event{}; }};
  d.set_placement(processor_placement::on_cpus(cpus));
  d.handle_events_with(dec).then(proc).then(lg);  // a pipeline: each stage after the previous one
  auto& ring = d.start();                         // three threads, pinned before start() returns

  std::int64_t expected_notional = 0;
  for (std::int64_t id = 0; id < events; ++id) {
    const std::int64_t qty = id % 100 + 1, price = 1000 + id % 7;
    expected_notional += qty * price;
    ring.publish_event(
        [](order_event& e, std::int64_t, std::int64_t i, std::int64_t q, std::int64_t p) {
          e.id = i;  // the slot is reused every lap: write every field a stage reads
          std::snprintf(e.wire, sizeof e.wire, "%lld %lld", static_cast<long long>(q), static_cast<long long>(p));
        },
        id, qty, price);
  }
  d.shutdown();  // returns when log has handled every event; the stage threads are joined

  bool ok = true;
  const char* names[] = {"decode", "process", "log"};
  const stage_stats* st[] = {&dec, &proc, &lg};
  for (int i = 0; i < 3; ++i) {
    std::printf("%-8s on CPU %d: events %lld, out of order: %lld, wrong values: %lld\n", names[i], st[i]->cpu,
                static_cast<long long>(st[i]->handled), static_cast<long long>(st[i]->out_of_order),
                static_cast<long long>(st[i]->wrong));
    ok = ok && st[i]->handled == events && st[i]->out_of_order == 0 && st[i]->wrong == 0 &&
         st[i]->cpu == cpus[static_cast<std::size_t>(i) % cpus.size()];
  }
  std::printf("published %lld events; total notional logged %lld (expected %lld)\n", static_cast<long long>(events),
              static_cast<long long>(lg.total_notional), static_cast<long long>(expected_notional));
  if (!ok || lg.total_notional != expected_notional) {
    std::printf("FAILED: a stage missed, reordered or mangled an event\n");
    return 1;
  }
  std::printf("every stage saw every event, in order\n");
  return 0;
}
