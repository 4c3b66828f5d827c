#include "attn/kernels/embedding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;

std::vector<int32_t> random_ids(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = static_cast<int32_t>(testing::random_int(0, vocab - 1));
  return ids;
}

std::string error_of(auto f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Embedding, ForwardGathersRows) {
  for (int64_t n : {1, 3, 17, 1000}) {
    for (int64_t dim : {1, 3, 17, 128}) {
      const int64_t vocab = 50;
      std::vector<float> table = random_floats(vocab * dim), out(n * dim);
      std::vector<int32_t> ids = random_ids(n, vocab);
      ids[0] = 0;  // the padding row is gathered like any other
      embedding_forward(n, ids.data(), vocab, dim, table.data(), out.data());
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < dim; ++c) ASSERT_EQ(out[i * dim + c], table[ids[i] * dim + c]) << n << " " << dim;
    }
  }
}

// f(table) = sum w * embedding(table); dtable (accumulated on top of its old values) is its gradient, except the
// padding row, which gets nothing.
TEST(Embedding, BackwardMatchesFiniteDifferencesWithRepeatsAndPadding) {
  for (int64_t n : {1, 3, 17, 100}) {
    for (int64_t dim : {1, 3, 17}) {
      for (int64_t padding : {kNoPadding, int64_t{2}}) {
        const int64_t vocab = 7;  // few rows: many repeated ids
        std::vector<float> table = random_floats(vocab * dim), w = random_floats(n * dim);
        std::vector<int32_t> ids = random_ids(n, vocab);
        ids[0] = 2;
        if (n > 2) ids[2] = ids[1];
        std::vector<float> dtable = random_floats(vocab * dim);
        const std::vector<float> before = dtable;
        embedding_backward(n, ids.data(), vocab, dim, w.data(), padding, dtable.data());
        auto f = [&](const std::vector<double>& t) {
          double s = 0;
          for (int64_t i = 0; i < n; ++i)
            for (int64_t c = 0; c < dim; ++c) s += w[i * dim + c] * t[ids[i] * dim + c];
          return s;
        };
        std::vector<double> g = testing::numeric_gradient(f, std::vector<double>(table.begin(), table.end()));
        for (int64_t i = 0; i < vocab * dim; ++i) g[i] = before[i] + (i / dim == padding ? 0.0 : g[i]);
        EXPECT_TRUE(all_close(dtable, g, 1e-3, 1e-4)) << n << " " << dim << " padding " << padding;
      }
    }
  }
}

// Large enough to split the columns over threads: the result must equal a plain sequential float loop bit for
// bit, on any thread count.
TEST(Embedding, ParallelBackwardIsExactlySequential) {
  const int64_t n = 4096, vocab = 300, dim = 128;
  std::vector<int32_t> ids = random_ids(n, vocab);
  std::vector<float> dout = random_floats(n * dim), start = random_floats(vocab * dim);
  std::vector<float> want = start;
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] == 5) continue;
    for (int64_t c = 0; c < dim; ++c) want[ids[i] * dim + c] += dout[i * dim + c];
  }
  const int keep = num_threads();
  for (int threads : {1, 2, 3, 5}) {
    set_num_threads(threads);
    std::vector<float> dtable = start;
    embedding_backward(n, ids.data(), vocab, dim, dout.data(), 5, dtable.data());
    EXPECT_EQ(dtable, want) << threads << " threads";
  }
  set_num_threads(keep);
}

TEST(Embedding, BadIdsThrowNamingIdPositionAndVocabulary) {
  std::vector<float> table(50 * 4), out(3 * 4);
  std::vector<int32_t> ids = {1, 49, 50};
  EXPECT_EQ(error_of([&] { embedding_forward(3, ids.data(), 50, 4, table.data(), out.data()); }),
            "embedding_forward: id 50 at position 2 is outside the vocabulary [0, 50)");
  ids[2] = -1;
  EXPECT_EQ(error_of([&] { embedding_backward(3, ids.data(), 50, 4, out.data(), kNoPadding, table.data()); }),
            "embedding_backward: id -1 at position 2 is outside the vocabulary [0, 50)");
  ids[2] = 3;
  EXPECT_NE(error_of([&] { embedding_backward(3, ids.data(), 50, 4, out.data(), 50, table.data()); })
                .find("padding_idx 50 is outside the vocabulary [0, 50)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { embedding_forward(3, ids.data(), 50, 0, table.data(), out.data()); })
                .find("embedding_forward: sizes n = 3, table [50, 0]"),
            std::string::npos);
}

}  // namespace
}  // namespace attn::kernels
