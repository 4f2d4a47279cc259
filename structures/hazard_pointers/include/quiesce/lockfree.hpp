// quiesce/lockfree.hpp — the lock-free structures built on quiesce's hazard
// pointers (<quiesce/hazard_pointer.hpp>), in namespace quiesce::lockfree
// (the folder's name, as boost::lockfree's):
//
//   treiber_stack<T>             LIFO stack (Treiber 1986)                 lockfree/treiber_stack.hpp
//   ms_queue<T>                  FIFO queue (Michael & Scott, PODC 1996)   lockfree/ms_queue.hpp
//   ordered_set<Key, Compare>    ordered set: a sorted linked list, O(n)   lockfree/ordered_set.hpp
//                                (Harris 2001, Michael 2002)
//   hash_set<Key, Hash, Eq>, hash_map<Key, T, Hash, Eq>
//                                hash tables of those lists, fixed (Michael 2002) or growing
//                                (split-ordered, Shalev & Shavit 2006) bucket arrays   lockfree/hash_map.hpp
//
// The names they had in namespace quiesce (quiesce::treiber_stack,
// quiesce::ms_queue, quiesce::ordered_list_set, quiesce::lockfree_hash_set,
// quiesce::lockfree_hash_map, quiesce::growing_buckets/fixed_buckets) remain
// as aliases, so code written against them builds unchanged.
//
// Each header opens with its guide (guarantees, costs, exceptions); nodes
// come from node-local pools (lockfree/detail/node_alloc.hpp). Include a
// single header to pull in less.
#ifndef QUIESCE_LOCKFREE_HPP
#define QUIESCE_LOCKFREE_HPP

#include <quiesce/lockfree/hash_map.hpp>
#include <quiesce/lockfree/ms_queue.hpp>
#include <quiesce/lockfree/ordered_set.hpp>
#include <quiesce/lockfree/treiber_stack.hpp>

#endif  // QUIESCE_LOCKFREE_HPP
