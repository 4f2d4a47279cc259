// Misuse of a quiesce::transaction (used after its atomically() returned, or
// from another thread) aborts with a message naming the fix in checks
// builds. Built with QUIESCE_CHECKS=1.
#include <quiesce/stm.hpp>

#include <gtest/gtest.h>

#include <thread>

#include "support/misuse.hpp"

namespace {

static_assert(quiesce::detail::base::checks_enabled, "this file must be built with QUIESCE_CHECKS=1");

using StmMisuseDeathTest = quiesce::test::threadsafe_death_test;

TEST_F(StmMisuseDeathTest, TransactionUsedAfterAtomicallyReturned) {
  quiesce::tvar<int> v{1};
  quiesce::transaction* escaped = nullptr;
  quiesce::atomically([&](quiesce::transaction& tx) { escaped = &tx; });
  EXPECT_DEATH((void)escaped->read(v), "transaction used outside the atomically\\(\\) call");
  EXPECT_DEATH(escaped->write(v, 2), "use the transaction only inside the function given to atomically\\(\\)");
}

TEST_F(StmMisuseDeathTest, TransactionUsedFromAnotherThread) {
  quiesce::tvar<int> v{1};
  EXPECT_DEATH(quiesce::atomically([&](quiesce::transaction& tx) {
                 std::thread([&] { (void)tx.read(v); }).join();
               }),
               "or from another thread");
}

}  // namespace
