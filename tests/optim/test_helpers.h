// Helpers for the optim and loss tests: an attn::Error check that also reads the message.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "attn/core/error.h"

namespace attn::testing {

// Passes when f() throws attn::Error whose message contains every piece.
template <class F>
::testing::AssertionResult throws_with(F&& f, std::initializer_list<std::string> pieces) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string& p : pieces) {
      if (what.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "'" << what << "' lacks '" << p << "'";
    }
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no attn::Error thrown";
}

}  // namespace attn::testing
