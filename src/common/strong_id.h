// StrongId: a 64-bit integer that cannot be mixed up with another kind of id or with a plain
// integer (an LSN is not an inode number). Trivially copyable; thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace rwd {

template <typename Tag>
struct StrongId {
  uint64_t value = 0;
  constexpr StrongId() = default;
  constexpr explicit StrongId(uint64_t v) : value(v) {}
  constexpr auto operator<=>(const StrongId&) const = default;
  constexpr bool valid() const { return value != 0; }
  std::string ToString() const { return std::to_string(value); }
};

}  // namespace rwd

template <typename Tag>
struct std::hash<rwd::StrongId<Tag>> {
  size_t operator()(const rwd::StrongId<Tag>& id) const noexcept {
    return std::hash<uint64_t>()(id.value);
  }
};
