// tests/fuzz/fuzz_lockfree_structures.cpp — libFuzzer target: the input
// decodes into a single-threaded sequence of operations on the lock-free
// structures, each compared step by step with a std:: container:
//   lockfree::treiber_stack<int>                       vs std::vector<int>
//   lockfree::ms_queue<int>                            vs std::deque<int>
//   lockfree::hash_map<int, int> (fixed and growing buckets) vs std::unordered_map
//   lockfree::ordered_set<int>                    vs std::set<int>
// Keys come from a small range so that inserts, erases and lookups collide.
// hazard_pointer_cleanup() runs now and then so retired nodes are reclaimed
// (and ASan sees any use of a freed or poisoned node).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree.hpp>

#include "fuzz_input.hpp"

namespace {

using quiesce::fuzz::check;
using quiesce::fuzz::input;

template <class Map>
void check_map(const Map& m, const std::unordered_map<int, int>& model) {
  check(m.size() == model.size());
  check(m.empty() == model.empty());
  std::map<int, int> seen;
  m.for_each([&](const int& k, const int& v) { check(seen.emplace(k, v).second); });
  check(seen.size() == model.size());
  for (const auto& [k, v] : seen) {
    auto it = model.find(k);
    check(it != model.end() && it->second == v);
  }
}

void check_set(const quiesce::lockfree::ordered_set<int>& s, const std::set<int>& model) {
  check(s.size() == model.size());
  check(s.empty() == model.empty());
  std::vector<int> seen;
  s.for_each([&](const int& k) { seen.push_back(k); });
  check(std::vector<int>(model.begin(), model.end()) == seen);  // ascending, no duplicates
}

template <class Map>
void map_op(Map& m, std::unordered_map<int, int>& model, std::uint8_t op, int key, int value) {
  switch (op % 7) {
    case 0: check(m.insert(key, value) == model.emplace(key, value).second); break;
    case 1: {
      const bool added = model.find(key) == model.end();
      model[key] = value;
      check(m.insert_or_assign(key, value) == added);
      break;
    }
    case 2: check(m.erase(key) == (model.erase(key) == 1)); break;
    case 3: check(m.contains(key) == (model.count(key) == 1)); break;
    case 4: {
      auto it = model.find(key);
      const std::optional<int> got = m.find(key);
      check(it == model.end() ? !got.has_value() : (got.has_value() && *got == it->second));
      break;
    }
    case 5: check(m.emplace(key, value) == model.try_emplace(key, value).second); break;
    default: {
      int seen = -1;
      const bool found = m.visit(key, [&seen](const int& v) { seen = v; });
      auto it = model.find(key);
      check(found == (it != model.end()));
      if (found) check(seen == it->second);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(data, size);
  // Bucket counts from the input: 1..16 (1 makes every key share one list).
  const std::size_t fixed_buckets = 1 + in.byte() % 16;
  const std::size_t growing_buckets = 1 + in.byte() % 16;

  quiesce::lockfree::treiber_stack<int> stack;
  std::vector<int> stack_model;
  quiesce::lockfree::ms_queue<int> queue;
  std::deque<int> queue_model;
  quiesce::lockfree::hash_map<int, int> fixed_map(fixed_buckets);
  std::unordered_map<int, int> fixed_model;
  quiesce::lockfree::hash_map<int, int, std::hash<int>, std::equal_to<int>, quiesce::lockfree::growing_buckets> growing_map(
      growing_buckets);
  std::unordered_map<int, int> growing_model;
  quiesce::lockfree::ordered_set<int> set;
  std::set<int> set_model;

  int counter = 0;  // distinct values for pushes, so order mistakes show
  for (int steps = 0; !in.done() && steps < 4096; ++steps) {
    const std::uint8_t op = in.byte();
    const std::uint8_t arg = in.byte();
    const int key = arg % 64 - 8;  // small, some negative
    const int value = ++counter;
    switch (op % 8) {
      case 0:  // stack
        if (arg & 1) {
          stack.push(value);
          stack_model.push_back(value);
        } else {
          const std::optional<int> got = stack.pop();
          if (stack_model.empty()) {
            check(!got.has_value());
          } else {
            check(got.has_value() && *got == stack_model.back());
            stack_model.pop_back();
          }
        }
        check(stack.empty() == stack_model.empty());
        break;
      case 1:  // queue
        if (arg & 1) {
          queue.push(value);
          queue_model.push_back(value);
        } else {
          const std::optional<int> got = queue.pop();
          if (queue_model.empty()) {
            check(!got.has_value());
          } else {
            check(got.has_value() && *got == queue_model.front());
            queue_model.pop_front();
          }
        }
        check(queue.empty() == queue_model.empty());
        break;
      case 2: map_op(fixed_map, fixed_model, in.byte(), key, value); break;
      case 3: map_op(growing_map, growing_model, in.byte(), key, value); break;
      case 4:  // ordered set
        switch (in.byte() % 4) {
          case 0: check(set.insert(key) == set_model.insert(key).second); break;
          case 1: check(set.emplace(key) == set_model.insert(key).second); break;
          case 2: check(set.erase(key) == (set_model.erase(key) == 1)); break;
          default: check(set.contains(key) == (set_model.count(key) == 1)); break;
        }
        break;
      case 5:  // whole-structure comparisons
        check_map(fixed_map, fixed_model);
        check_map(growing_map, growing_model);
        check_set(set, set_model);
        check(fixed_map.bucket_count() >= 1 && growing_map.bucket_count() >= 1);
        break;
      case 6: quiesce::hazard_pointer_cleanup(); break;
      default: {  // a burst of inserts (growth of the growing table), then erases:
                  // half of them from the map (so it keeps growing), all from the
                  // set (an O(n) list: a long one would only slow the fuzzer down)
        const int n = arg % 32;
        for (int i = 0; i < n; ++i) {
          const int k = 1000 + counter + i;
          check(growing_map.insert(k, i) == growing_model.emplace(k, i).second);
          check(set.insert(k) == set_model.insert(k).second);
        }
        for (int i = 0; i < n; ++i) {
          const int k = 1000 + counter + i;
          if (i % 2 == 0) check(growing_map.erase(k) == (growing_model.erase(k) == 1));
          check(set.erase(k) == (set_model.erase(k) == 1));
        }
        counter += n;
        break;
      }
    }
  }
  check_map(fixed_map, fixed_model);
  check_map(growing_map, growing_model);
  check_set(set, set_model);
  // Drain stack and queue against the models.
  while (!stack_model.empty()) {
    const std::optional<int> got = stack.pop();
    check(got.has_value() && *got == stack_model.back());
    stack_model.pop_back();
  }
  check(!stack.pop().has_value());
  while (!queue_model.empty()) {
    const std::optional<int> got = queue.pop();
    check(got.has_value() && *got == queue_model.front());
    queue_model.pop_front();
  }
  check(!queue.pop().has_value());
  quiesce::hazard_pointer_cleanup();
  return 0;
}
