// tests/fuzz/fuzz_input.hpp — reads a libFuzzer input as a stream of small
// integers (one operation code, then its operands). Reading past the end
// yields zeros, so every input decodes to some operation sequence.
#ifndef QUIESCE_TESTS_FUZZ_INPUT_HPP
#define QUIESCE_TESTS_FUZZ_INPUT_HPP

#include <cstddef>
#include <cstdint>

namespace quiesce::fuzz {

class input {
 public:
  input(const std::uint8_t* data, std::size_t size) noexcept : p_(data), end_(data + size) {}
  [[nodiscard]] bool done() const noexcept { return p_ == end_; }
  std::uint8_t byte() noexcept { return p_ == end_ ? 0 : *p_++; }
  std::uint16_t u16() noexcept {
    const std::uint16_t lo = byte();
    return static_cast<std::uint16_t>(lo | (byte() << 8));
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// A mismatch with the model: a crash that libFuzzer records (and ctest fails on).
inline void check(bool ok) noexcept {
  if (!ok) __builtin_trap();
}

}  // namespace quiesce::fuzz

#endif  // QUIESCE_TESTS_FUZZ_INPUT_HPP
