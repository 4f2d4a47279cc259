// fences.cpp — the hazard pointers' fence mode: membarrier(PRIVATE_EXPEDITED) when the
// kernel has it (readers then need only a compiler barrier), else seq_cst
// fences on both sides.
// (hp_internal.hpp lists the hazard-pointer sources.)

#include "hp_internal.hpp"

namespace quiesce {

namespace detail::hp {

// ---- fences ---------------------------------------------------------------

namespace {
std::once_flag fence_once;

long sys_membarrier(int cmd) noexcept { return syscall(__NR_membarrier, cmd, 0U, 0); }
}  // namespace

// Chooses the fence mode once, before any record exists (every path to a
// record or a scan calls this first). QUIESCE_HP_FENCE=fence forces the
// seq_cst-fence mode (tests run both modes).
void init_fences() noexcept {
  std::call_once(fence_once, [] {
    const char* env = std::getenv("QUIESCE_HP_FENCE");
    if (env != nullptr && std::strcmp(env, "fence") == 0) return;
    long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return;
    asymmetric.store(true, std::memory_order_relaxed);  // published by call_once
  });
}

// The scanner's half: see light_fence() and the ordering note in the header.
void heavy_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (asymmetric.load(std::memory_order_relaxed)) {
    if (sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
      // A forked child may have to register again; anything else means the
      // readers' compiler-barrier fast path is no longer covered.
      int err = errno;
      if (err != EPERM || sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 ||
          sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
        std::fprintf(stderr, "quiesce: fatal: membarrier(PRIVATE_EXPEDITED) failed: %s\n", std::strerror(err));
        std::abort();
      }
    }
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace detail::hp

}  // namespace quiesce
