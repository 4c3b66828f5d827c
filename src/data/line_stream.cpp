#include "attn/data/line_stream.h"

#include <fmt/format.h>

#include "attn/core/error.h"
#include "line_reader.h"
#include "reader_util.h"

namespace attn::data {

LineStream::LineStream(const std::string& path) : reader_(std::make_unique<detail::LineReader>(path)) {}
LineStream::~LineStream() = default;

bool LineStream::next(std::string& line) {
  std::string_view view;
  if (!reader_->next(view)) return false;
  const std::string problem = detail::utf8_problem(view, where());
  ATTN_CHECK(problem.empty(), "{}: {}", where(), problem);
  line.assign(view);
  return true;
}

std::string LineStream::where() const { return fmt::format("{}:{}", reader_->name(), reader_->line_number()); }

void LineStream::set_on_wait(std::function<void()> on_wait) { reader_->set_on_wait(std::move(on_wait)); }

}  // namespace attn::data
