// attn::Error: the one exception type the library throws. The message says what went wrong and where
// (the op and its shapes, or file:line of the user's data); only cli/ catches it and turns it into an exit code.
#pragma once
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace attn {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// "[2, 3, 17]" for messages.
std::string shape_str(const std::vector<int64_t>& shape);

namespace detail {
[[noreturn]] void throw_error(std::string message);
}  // namespace detail

}  // namespace attn

// ATTN_CHECK(cond, "fmt", args...): throws attn::Error with the formatted message when cond is false.
#define ATTN_CHECK(cond, ...)                                             \
  do {                                                                    \
    if (!(cond)) ::attn::detail::throw_error(::fmt::format(__VA_ARGS__)); \
  } while (0)
