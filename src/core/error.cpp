#include "attn/core/error.h"

namespace attn {

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

namespace detail {
void throw_error(std::string message) { throw Error(std::move(message)); }
}  // namespace detail

}  // namespace attn
