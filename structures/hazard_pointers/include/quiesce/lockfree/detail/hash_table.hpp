// quiesce/lockfree/detail/hash_table.hpp — the tables under
// lockfree::hash_set and lockfree::hash_map (internal): the hash policy of
// the Harris-Michael lists, the fixed bucket array (Michael, SPAA 2002), the
// growing split-ordered one (Shalev, Shavit, JACM 2006), and hash_front,
// the members both public classes share. The contracts are in
// <quiesce/lockfree/hash_map.hpp>.
#ifndef QUIESCE_LOCKFREE_DETAIL_HASH_TABLE_HPP
#define QUIESCE_LOCKFREE_DETAIL_HASH_TABLE_HPP

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <quiesce/lockfree/detail/hm_list.hpp>

namespace quiesce {

namespace lockfree {
struct growing_buckets;  // <quiesce/lockfree/hash_map.hpp>
struct fixed_buckets;
}  // namespace lockfree

namespace detail::lockfree {

// Spreads a std::size_t hash over all 64 bits (std::hash of integers is the
// identity; the bucket comes from the low bits). A bijection (xor-shift and
// an odd multiplier), so distinct hashes stay distinct.
inline std::size_t mix_hash(std::size_t h) noexcept {
  std::uint64_t x = h;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;  // MurmurHash3's fmix64 constants
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<std::size_t>(x);
}

template <class Key, class T>
struct map_entry {
  template <class K, class... Args>
  explicit map_entry(K&& k, Args&&... args) : key(std::forward<K>(k)), value(std::forward<Args>(args)...) {}
  Key key;
  T value;
};

struct key_of_self {
  template <class K>
  const K& operator()(const K& k) const noexcept {
    return k;
  }
};
struct key_of_entry {
  template <class E>
  const auto& operator()(const E& e) const noexcept {
    return e.key;
  }
};

// The list policy of the hash tables: order by mixed hash, equal keys by
// KeyEqual within a run of equal hashes.
template <class Key, class Value, class Hash, class KeyEqual, class KeyOf>
struct hash_policy {
  using value_type = Value;
  using tag_type = std::size_t;
  struct probe {
    std::size_t tag;
    const Key* key;
  };
  [[no_unique_address]] Hash hash;
  [[no_unique_address]] KeyEqual equal;

  probe make_probe(const Key& k) const { return {mix_hash(static_cast<std::size_t>(std::invoke(hash, k))), &k}; }
  static int order(std::size_t node_tag, const Value&, const probe& p) noexcept {
    return node_tag < p.tag ? -1 : (node_tag > p.tag ? 1 : 0);
  }
  bool same(const Value& v, const probe& p) const { return std::invoke(equal, KeyOf{}(v), *p.key); }
  template <class Node>
  probe probe_of(const Node& n) const noexcept {
    return {n.tag, &KeyOf{}(n.value)};
  }
  static int resume_cmp(std::size_t node_tag, const Value&, std::size_t last_tag, const Value&) noexcept {
    return node_tag < last_tag ? -1 : (node_tag > last_tag ? 1 : 0);
  }
};

// f(const Value&) on the node of list `List` from `head` that matches p,
// while it is protected; false if there is none. Both tables' visit.
template <class List, class Probe, class Policy, class F>
bool visit_list(std::atomic<typename List::node*>& head, const Probe& p, const Policy& pol, F&& f) {
  typename List::hazards hp;
  typename List::position pos;
  if (!List::find(head, p, pol, hp, pos)) return false;
  std::forward<F>(f)(static_cast<const typename Policy::value_type&>(pos.curr->value));
  return true;
}

// The table both public classes wrap: a fixed array of list heads.
template <class Key, class Value, class Hash, class KeyEqual, class KeyOf>
class hash_table {
 public:
  using policy = hash_policy<Key, Value, Hash, KeyEqual, KeyOf>;
  using node = list_node<Value, std::size_t>;
  using tag_type = std::size_t;
  using list = hm_list<node>;
  using probe = typename policy::probe;
  using bucket = std::atomic<node*>;

  static constexpr std::size_t max_buckets = std::size_t{1} << 40;

  hash_table(std::size_t buckets, const Hash& h, const KeyEqual& e)
      : mask_(round(buckets) - 1), buckets_(new bucket[mask_ + 1]), pol_{h, e} {}
  hash_table(const hash_table&) = delete;
  hash_table& operator=(const hash_table&) = delete;
  ~hash_table() {
    for (std::size_t i = 0; i <= mask_; ++i) list::destroy_all(buckets_[i]);
  }

  [[nodiscard]] std::size_t bucket_count() const noexcept { return mask_ + 1; }
  probe make_probe(const Key& k) const { return pol_.make_probe(k); }
  bucket& bucket_of(const probe& p) const noexcept { return buckets_[p.tag & mask_]; }

  // Lazily built insert (see hm_list::insert_lazy); make(tag) returns the node.
  template <class Make>
  bool insert_lazy(const Key& key, Make&& make) {
    const probe p = make_probe(key);
    return list::insert_lazy(bucket_of(p), p, pol_, [&] { return make(p.tag); });
  }
  // n is owned by the caller until linked.
  bool insert_node(node* n) {
    const probe p = pol_.probe_of(*n);
    return list::insert(bucket_of(p), p, pol_, n);
  }
  // Owns h's node on return unless Hash or KeyEqual threw.
  bool insert_or_replace(node_holder<node>& h) {
    const probe p = pol_.probe_of(*h.n);
    return list::insert_or_replace(bucket_of(p), p, pol_, h);
  }
  bool erase(const Key& key) {
    const probe p = make_probe(key);
    bucket& b = bucket_of(p);
    // An empty bucket: the key is absent at this load (its linearization
    // point), and no hazard pointer is needed. Acquire, like find's loads
    // of the head (pairs with an insert's release CAS); free on x86.
    if (b.load(std::memory_order_acquire) == nullptr) return false;
    return list::erase(b, p, pol_);
  }
  // Runs f(const Value&) on the matching node while it is protected.
  template <class F>
  bool visit(const Key& key, F&& f) const {
    const probe p = make_probe(key);
    bucket& b = bucket_of(p);
    // Empty bucket: absent, no hazards taken (as in erase). At half load
    // most buckets are empty (Poisson: 61% at 0.5 keys per bucket).
    if (b.load(std::memory_order_acquire) == nullptr) return false;
    return visit_list<list>(b, p, pol_, std::forward<F>(f));
  }
  template <class F>
  void for_each(F&& f) const {
    bool stop = false;
    for (std::size_t i = 0; i <= mask_ && !stop; ++i) {
      list::for_each(buckets_[i], pol_, [&](const Value& v) {
        if constexpr (std::is_same_v<std::invoke_result_t<F&, const Value&>, bool>) {
          stop = !f(v);
          return !stop;
        } else {
          f(v);
          return true;
        }
      });
    }
  }
  const policy& pol() const noexcept { return pol_; }

 private:
  static std::size_t round(std::size_t n) {
    if (n > max_buckets) throw std::length_error("quiesce::lockfree::hash_map/hash_set: bucket count above 2^40");
    return std::bit_ceil(n == 0 ? std::size_t{1} : n);
  }
  const std::size_t mask_;
  const std::unique_ptr<bucket[]> buckets_;
  [[no_unique_address]] policy pol_;
};


// ---- the growing table: split-ordered lists (Shalev & Shavit, JACM 2006) ----
//
// One Harris-Michael list holds every key, sorted by the bit-reversal of its
// mixed hash (with the top bit set, so a key's split-order tag is odd), and
// one sentinel node per initialised bucket b, tagged reverse(b) (even). A
// bucket's keys lie between its sentinel and the next one, whatever the
// bucket count, so doubling the count moves no node: a new bucket is
// initialised lazily by linking its sentinel into its parent bucket's run
// (b with its top bit cleared). Sentinels live in the table's segments
// (segment s holds buckets [2^(s-1), 2^s), allocated on first use), are
// never marked or retired, and are destroyed with the table.
// Operations start from the sentinel of their bucket, or of its nearest
// initialised ancestor (the global order makes that correct, just a longer
// walk); only inserts initialise buckets, so lookups never allocate.
inline std::uint64_t reverse_bits(std::uint64_t x) noexcept {
  x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
  x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
  return __builtin_bswap64(x);
}

// A split-order tag: odd for keys, even for bucket sentinels.
struct so_tag {
  std::uint64_t v = 0;
};
inline constexpr bool node_has_value(so_tag t) noexcept { return (t.v & 1) != 0; }

template <class Key, class Value, class Hash, class KeyEqual, class KeyOf>
struct so_policy {
  using value_type = Value;
  using tag_type = so_tag;
  struct probe {
    so_tag tag;
    const Key* key;      // null: a sentinel probe
    std::size_t hash;    // the mixed hash (selects the bucket)
  };
  [[no_unique_address]] Hash hash;
  [[no_unique_address]] KeyEqual equal;

  probe make_probe(const Key& k) const {
    const std::size_t h = mix_hash(static_cast<std::size_t>(std::invoke(hash, k)));
    return {so_tag{reverse_bits(static_cast<std::uint64_t>(h) | (std::uint64_t{1} << 63))}, &k, h};
  }
  static probe sentinel_probe(std::size_t bucket) noexcept {
    return {so_tag{reverse_bits(static_cast<std::uint64_t>(bucket))}, nullptr, bucket};
  }
  static int order(so_tag node_tag, const Value&, const probe& p) noexcept {
    return node_tag.v < p.tag.v ? -1 : (node_tag.v > p.tag.v ? 1 : 0);
  }
  // Equal tags: both sentinels of one bucket (a sentinel probe), or both
  // keys (odd tags), compared with KeyEqual.
  bool same(const Value& v, const probe& p) const {
    return p.key == nullptr || std::invoke(equal, KeyOf{}(v), *p.key);
  }
  template <class Node>
  probe probe_of(const Node& n) const noexcept {
    return {n.tag, &KeyOf{}(n.value), 0};
  }
  static int resume_cmp(so_tag node_tag, const Value&, so_tag last_tag, const Value&) noexcept {
    return node_tag.v < last_tag.v ? -1 : (node_tag.v > last_tag.v ? 1 : 0);
  }
};

template <class Key, class Value, class Hash, class KeyEqual, class KeyOf>
class so_table {
 public:
  using policy = so_policy<Key, Value, Hash, KeyEqual, KeyOf>;
  using node = list_node<Value, so_tag>;
  using tag_type = so_tag;
  using list = hm_list<node>;
  using probe = typename policy::probe;

  static constexpr std::size_t max_buckets = std::size_t{1} << 40;
  static constexpr std::size_t max_load = 2;  // keys per bucket before the count doubles

  so_table(std::size_t buckets, const Hash& h, const KeyEqual& e) : pol_{h, e} {
    if (buckets > max_buckets) throw std::length_error("quiesce::lockfree::hash_map/hash_set: bucket count above 2^40");
    size_.store(std::bit_ceil(buckets == 0 ? std::size_t{1} : buckets), std::memory_order_relaxed);
    slot& s0 = slot_of(0, true);  // bucket 0's sentinel: the head of the whole list
    ::new (static_cast<void*>(s0.storage)) node(policy::sentinel_probe(0).tag, sentinel_t{});
    s0.state.store(linked, std::memory_order_relaxed);  // published by the constructor's completion
  }
  so_table(const so_table&) = delete;
  so_table& operator=(const so_table&) = delete;
  ~so_table() {
    node* n = sentinel(slot_of(0, false));
    while (n != nullptr) {
      node* nx = unmarked(n->next.load(std::memory_order_relaxed));  // no concurrent user (contract)
      if (node_has_value(n->tag)) {
        node_deleter<node>{}(n);
      } else {
        n->~node();  // a sentinel: its storage belongs to its segment
      }
      n = nx;
    }
    for (std::size_t s = 0; s < max_segments; ++s) {
      slot* seg = segments_[s].load(std::memory_order_relaxed);
      if (seg == nullptr) continue;
      unpoison(seg, segment_size(s) * sizeof(slot));  // sentinels poisoned their fields
      delete[] seg;
    }
  }

  // The current bucket count (grows by doubling; never shrinks).
  [[nodiscard]] std::size_t bucket_count() const noexcept { return size_.load(std::memory_order_relaxed); }
  probe make_probe(const Key& k) const { return pol_.make_probe(k); }

  template <class Make>
  bool insert_lazy(const Key& key, Make&& make) {
    const probe p = make_probe(key);
    node* start = start_for_insert(p.hash);
    if (!list::insert_lazy(start->next, p, pol_, [&] { return make(p.tag); })) return false;
    added();
    return true;
  }
  bool insert_node(node* n) {
    const std::size_t h = hash_of(*n);
    const probe p = pol_.probe_of(*n);
    if (!list::insert(start_for_insert(h)->next, p, pol_, n)) return false;
    added();
    return true;
  }
  bool insert_or_replace(node_holder<node>& h) {
    const std::size_t hh = hash_of(*h.n);
    const probe p = pol_.probe_of(*h.n);
    if (!list::insert_or_replace(start_for_insert(hh)->next, p, pol_, h)) return false;
    added();
    return true;
  }
  bool erase(const Key& key) {
    const probe p = make_probe(key);
    if (!list::erase(start_for(p.hash)->next, p, pol_)) return false;
    count_of_this_thread().fetch_sub(1, std::memory_order_relaxed);  // a statistic: relaxed
    return true;
  }
  template <class F>
  bool visit(const Key& key, F&& f) const {
    const probe p = make_probe(key);
    node* start = start_for(p.hash);
    // Nothing after this bucket's sentinel: the key is absent, no hazard
    // pointer needed. Acquire: pairs with an insert's release CAS.
    if (start->next.load(std::memory_order_acquire) == nullptr) return false;
    return visit_list<list>(start->next, p, pol_, std::forward<F>(f));
  }
  template <class F>
  void for_each(F&& f) const {
    list::for_each(sentinel(slot_of(0, false))->next, pol_, std::forward<F>(f));
  }

 private:
  static constexpr std::uint8_t unclaimed = 0, claimed = 1, linked = 2;
  struct slot {
    std::atomic<std::uint8_t> state{unclaimed};
    alignas(node) unsigned char storage[sizeof(node)];
  };
  static constexpr std::size_t max_segments = 41;  // buckets up to 2^40

  static std::size_t segment_of(std::size_t b) noexcept { return static_cast<std::size_t>(std::bit_width(b)); }
  static std::size_t segment_size(std::size_t s) noexcept { return s == 0 ? 1 : std::size_t{1} << (s - 1); }
  static std::size_t offset_in_segment(std::size_t b, std::size_t s) noexcept {
    return s == 0 ? 0 : b - (std::size_t{1} << (s - 1));
  }
  static node* sentinel(slot& s) noexcept { return std::launder(reinterpret_cast<node*>(s.storage)); }
  static std::size_t parent(std::size_t b) noexcept { return b & ~(std::bit_floor(b)); }

  // The slot of bucket b, or (create false) nullptr if its segment does not
  // exist yet. A new segment is allocated zeroed (all unclaimed) and
  // published by CAS (release; the loser frees its copy).
  slot& slot_of(std::size_t b, bool create) const {
    slot* s = try_slot(b);
    if (s != nullptr || !create) return *s;
    const std::size_t seg = segment_of(b);
    slot* fresh = new slot[segment_size(seg)];
    slot* expected = nullptr;
    // Release: the zeroed states are visible to whoever acquires the segment.
    if (!segments_[seg].compare_exchange_strong(expected, fresh, std::memory_order_release,
                                                std::memory_order_acquire)) {
      delete[] fresh;
      return expected[offset_in_segment(b, seg)];
    }
    return fresh[offset_in_segment(b, seg)];
  }
  slot* try_slot(std::size_t b) const noexcept {
    const std::size_t seg = segment_of(b);
    // Acquire: pairs with the release CAS that published the segment.
    slot* base = segments_[seg].load(std::memory_order_acquire);
    return base == nullptr ? nullptr : &base[offset_in_segment(b, seg)];
  }
  bool is_linked(const slot* s) const noexcept {
    // Acquire: pairs with the release store after the sentinel was linked,
    // so its fields are visible.
    return s != nullptr && s->state.load(std::memory_order_acquire) == linked;
  }

  // The sentinel to start from for hash h: its bucket's, or the nearest
  // initialised ancestor's (bucket 0 always is). Never allocates.
  node* start_for(std::size_t h) const noexcept {
    std::size_t b = h & (size_.load(std::memory_order_acquire) - 1);
    for (;;) {
      slot* s = try_slot(b);
      if (is_linked(s)) return sentinel(*s);
      b = parent(b);
    }
  }
  // As start_for, but first initialises the bucket (and, recursively, its
  // ancestors) unless another thread is doing it.
  node* start_for_insert(std::size_t h) {
    const std::size_t b = h & (size_.load(std::memory_order_acquire) - 1);
    initialise(b);
    return start_for(h);
  }
  void initialise(std::size_t b) {
    if (b == 0) return;
    slot& s = slot_of(b, true);  // may throw std::bad_alloc: nothing changed
    if (s.state.load(std::memory_order_acquire) != unclaimed) return;  // linked, or being linked by its claimer
    initialise(parent(b));
    std::uint8_t expected = unclaimed;
    // Claim (relaxed: the claim publishes nothing; the sentinel is
    // published by the list CAS and the release store below).
    if (!s.state.compare_exchange_strong(expected, claimed, std::memory_order_relaxed)) return;
    node* n = ::new (static_cast<void*>(s.storage)) node(policy::sentinel_probe(b).tag, sentinel_t{});
    const probe p = policy::sentinel_probe(b);
    // Unique (claimed): the insert always links it. Start from the nearest
    // linked ancestor (the parent, unless its own claimer is not done).
    node* start = start_for(parent(b));
    const bool linked_now = list::insert(start->next, p, pol_, n);
    (void)linked_now;
    // Release: pairs with is_linked's acquire (operations start here after).
    s.state.store(linked, std::memory_order_release);
  }

  std::size_t hash_of(const node& n) const { return mix_hash(static_cast<std::size_t>(std::invoke(pol_.hash, KeyOf{}(n.value)))); }

  // Key count, striped over cache lines so inserts and erases on different
  // threads do not share one counter; the sum is checked every 64 inserts
  // of a stripe, and the bucket count doubles past max_load keys per bucket.
  static constexpr std::size_t stripes = 16;
  struct alignas(quiesce::detail::base::cache_line) stripe {
    std::atomic<std::int64_t> n{0};
  };
  std::atomic<std::int64_t>& count_of_this_thread() const noexcept {
    static thread_local const std::size_t mine =
        std::hash<const void*>{}(&mine) / alignof(std::max_align_t) % stripes;
    return counts_[mine].n;
  }
  void added() noexcept {
    // Relaxed: a statistic that only triggers growth.
    const std::int64_t v = count_of_this_thread().fetch_add(1, std::memory_order_relaxed) + 1;
    std::size_t size = size_.load(std::memory_order_relaxed);
    if ((v & 63) != 0 && size >= 64) return;  // small tables check on every insert
    std::int64_t total = 0;
    for (const stripe& s : counts_) total += s.n.load(std::memory_order_relaxed);
    // Double until the load is back under max_load. Any bucket count is
    // valid at any time (operations re-read it), so the CAS orders nothing
    // beyond itself: relaxed.
    while (total > 0 && static_cast<std::size_t>(total) > size * max_load && size < max_buckets) {
      if (size_.compare_exchange_weak(size, size * 2, std::memory_order_relaxed, std::memory_order_relaxed))
        size *= 2;
    }
  }

  mutable std::atomic<slot*> segments_[max_segments] = {};
  std::atomic<std::size_t> size_{1};
  mutable stripe counts_[stripes];
  [[no_unique_address]] policy pol_;
};

template <class Buckets, class Key, class Value, class Hash, class KeyEqual, class KeyOf>
struct table_for;
template <class Key, class Value, class Hash, class KeyEqual, class KeyOf>
struct table_for<quiesce::lockfree::growing_buckets, Key, Value, Hash, KeyEqual, KeyOf> {
  using type = so_table<Key, Value, Hash, KeyEqual, KeyOf>;
};
template <class Key, class Value, class Hash, class KeyEqual, class KeyOf>
struct table_for<quiesce::lockfree::fixed_buckets, Key, Value, Hash, KeyEqual, KeyOf> {
  using type = hash_table<Key, Value, Hash, KeyEqual, KeyOf>;
};

// The hashing arguments hash_set and hash_map take: checked once for both,
// each failure with its own message.
template <class Key, class Hash, class KeyEqual, class Buckets>
struct hash_argument_checks {
  static_assert(std::is_invocable_r_v<std::size_t, const Hash&, const Key&>,
                "quiesce::lockfree::hash_set/hash_map: Hash must be callable as std::size_t(const Key&) on a const Hash");
  static_assert(std::is_invocable_r_v<bool, const KeyEqual&, const Key&, const Key&>,
                "quiesce::lockfree::hash_set/hash_map: KeyEqual must be callable as bool(const Key&, const Key&) on a "
                "const KeyEqual");
  static_assert(std::is_same_v<Buckets, quiesce::lockfree::growing_buckets> ||
                    std::is_same_v<Buckets, quiesce::lockfree::fixed_buckets>,
                "quiesce::lockfree::hash_set/hash_map: Buckets must be quiesce::lockfree::growing_buckets or "
                "quiesce::lockfree::fixed_buckets");
  static constexpr bool ok = true;
};
template <class Key, class Hash, class KeyEqual, class Buckets>
inline constexpr bool hash_arguments_ok = hash_argument_checks<Key, Hash, KeyEqual, Buckets>::ok;

// What lockfree::hash_set and lockfree::hash_map share: the table (Value is
// the key itself or a map_entry), its construction, no copies, and the
// members whose contract is the same for both, documented here.
template <class Key, class Value, class Hash, class KeyEqual, class Buckets, class KeyOf>
class hash_front {
  static_assert(hash_arguments_ok<Key, Hash, KeyEqual, Buckets>);  // first: its messages before any other error

 protected:
  using table = typename table_for<Buckets, Key, Value, Hash, KeyEqual, KeyOf>::type;
  using node = typename table::node;

 public:
  using key_type = Key;
  using hasher = Hash;
  using key_equal = KeyEqual;

  // A table of `buckets` buckets (rounded up to a power of two; 0 counts as
  // 1): the permanent count with lockfree::fixed_buckets (the default; size
  // it for the largest expected key count), the initial one with
  // lockfree::growing_buckets (it doubles past 2 keys per bucket). Throws
  // std::length_error above 2^40 buckets, std::bad_alloc.
  explicit hash_front(std::size_t buckets = 1024, const Hash& hash = Hash(), const KeyEqual& equal = KeyEqual())
      : t_(buckets, hash, equal) {}
  hash_front(const hash_front&) = delete;
  hash_front& operator=(const hash_front&) = delete;

  // Removes key; true if this call removed it. Any thread; lock-free (two
  // CASes and a retire). Throws only what Hash and KeyEqual throw.
  bool erase(const Key& key) { return t_.erase(key); }

  // True if key is present. Any thread; lock-free; no atomic RMW and no
  // shared write (only the thread's own hazard records). Throws only what
  // Hash and KeyEqual throw.
  [[nodiscard]] bool contains(const Key& key) const {
    return t_.visit(key, [](const Value&) noexcept {});
  }

  // Counted by a for_each walk: exact without concurrent writers.
  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    t_.for_each([&n](const Value&) { ++n; });
    return n;
  }
  [[nodiscard]] bool empty() const {
    bool any = false;
    t_.for_each([&any](const Value&) { return !(any = true); });
    return !any;
  }
  [[nodiscard]] std::size_t bucket_count() const noexcept { return t_.bucket_count(); }

 protected:
  // Frees every key still present at once; erased keys are freed by the
  // hazard-pointer domain once unprotected (hazard_pointer_cleanup() forces
  // it). Contract: no other thread uses the set or map any more.
  // O(n + buckets).
  ~hash_front() = default;

  table t_;
};

}  // namespace detail::lockfree

}  // namespace quiesce

#endif  // QUIESCE_LOCKFREE_DETAIL_HASH_TABLE_HPP
