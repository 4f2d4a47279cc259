// tests/fuzz/fuzz_input.hpp — reads a libFuzzer input as a stream of small
// integers (one operation code, then its operands). Reading past the end
// yields zeros, so every input decodes to some operation sequence.
#ifndef QUIESCE_TESTS_FUZZ_INPUT_HPP
#define QUIESCE_TESTS_FUZZ_INPUT_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>

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

// A trivially copyable T whose bytes come from the input (zero past its end).
template <class T>
T value_from(input& in) {
  T v;
  std::memset(&v, 0, sizeof v);
  auto* p = reinterpret_cast<unsigned char*>(&v);
  for (std::size_t i = 0; i < sizeof v; ++i) p[i] = in.byte();
  return v;
}

// Byte-wise equality, for values without operator==.
template <class T>
bool same(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace quiesce::fuzz

#endif  // QUIESCE_TESTS_FUZZ_INPUT_HPP
