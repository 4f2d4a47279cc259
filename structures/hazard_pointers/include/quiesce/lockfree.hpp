// quiesce/lockfree.hpp — the lock-free structures built on quiesce's hazard
// pointers (<quiesce/hazard_pointer.hpp>), all in namespace quiesce:
//
//   treiber_stack<T>   LIFO stack (Treiber 1986)               lockfree/treiber_stack.hpp
//   ms_queue<T>        FIFO queue (Michael & Scott, PODC 1996)  lockfree/ms_queue.hpp
//   ordered_list_set<Key, Compare>  ordered set (Harris 2001, Michael 2002)  lockfree/ordered_set.hpp
//   lockfree_hash_set<Key, Hash, Eq>, lockfree_hash_map<Key, T, Hash, Eq>
//                      hash tables of those lists, fixed (Michael 2002) or growing
//                      (split-ordered, Shalev & Shavit 2006) bucket arrays    lockfree/hash_map.hpp
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
