// Progress display, driven by a fake clock into a memory stream: plain lines are throttled by the interval,
// terminal redraws use \r and end with one newline, counts, rates, ETA and metrics are formatted as documented.
#include "attn/train/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace attn::train {
namespace {

// A FILE* writing into memory, and a clock that only moves when told.
struct Harness {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = open_memstream(&buf, &len);
  double now = 0;

  ~Harness() {
    std::fclose(out);
    std::free(buf);
  }
  Progress::Options options(bool tty, double interval = 10) {
    Progress::Options o;
    o.out = out;
    o.tty = tty;
    o.plain_interval_s = interval;
    o.clock = [this] { return now; };
    return o;
  }
  std::string text() {
    std::fflush(out);
    return std::string(buf, len);
  }
  std::vector<std::string> lines() {
    std::vector<std::string> v;
    std::string t = text();
    for (size_t start = 0, end; (end = t.find('\n', start)) != std::string::npos; start = end + 1) {
      v.push_back(t.substr(start, end - start));
    }
    return v;
  }
};

TEST(Progress, PlainLinesAreThrottledAndTheLastHasTheTotals) {
  Harness h;
  {
    Progress p("epoch 1/3", 100, h.options(false));
    EXPECT_EQ(h.text(), "");  // nothing until an interval has passed
    for (int i = 1; i <= 100; ++i) {
      h.now = i * 0.5;
      p.set_metric("loss", 1.0 / i);
      p.advance(1, 1000);
    }
    h.now = 50.25;
  }  // the destructor finishes
  std::vector<std::string> lines = h.lines();
  ASSERT_EQ(lines.size(), 6u) << h.text();  // at 10, 20, 30, 40, 50 s, then the final line
  EXPECT_EQ(lines[0], "epoch 1/3 20/100 20% loss 0.05 2k ex/s ETA 0:40");
  EXPECT_EQ(lines[2], "epoch 1/3 60/100 60% loss 0.01667 2k ex/s ETA 0:20");
  EXPECT_EQ(lines[4], "epoch 1/3 100/100 100% loss 0.01 2k ex/s");  // done: no ETA
  EXPECT_EQ(lines[5], "epoch 1/3 100/100 100% loss 0.01 1.99k ex/s elapsed 0:50");
  EXPECT_EQ(h.text().find('\r'), std::string::npos);
}

TEST(Progress, PlainIntervalCountsFromTheLastLine) {
  Harness h;
  Progress p("", 1000, h.options(false, 2.5));
  for (double t : {1.0, 2.4, 2.5, 3.0, 4.9, 5.0, 7.6}) {
    h.now = t;
    p.advance();
  }
  std::vector<std::string> lines = h.lines();
  ASSERT_EQ(lines.size(), 3u) << h.text();  // at 2.5, 5.0, 7.6
  EXPECT_EQ(lines[0], "3/1000 0% 1.2 it/s ETA 13:51");  // 2.5 s * 997 / 3
  EXPECT_EQ(lines[2], "7/1000 0% 0.921 it/s ETA 17:58");
}

TEST(Progress, MetricsKeepTheirFirstOrderAndFourDigits) {
  Harness h;
  Progress p("eval", 4, h.options(false));
  p.set_metric("loss", 0.41234567);
  p.set_metric("acc", 0.871);
  p.set_metric("ppl", 12345.678);
  p.set_metric("loss", 0.4);  // updated in place
  p.set_metric("tiny", 1.5e-7);
  h.now = 2;
  p.advance(4, 4000);
  p.finish();
  EXPECT_EQ(h.text(), "eval 4/4 100% loss 0.4 acc 0.871 ppl 1.235e+04 tiny 1.5e-07 2k ex/s elapsed 0:02\n");
}

TEST(Progress, FinishIsIdempotentAndStopsOutput) {
  Harness h;
  Progress p("x", 10, h.options(false, 1));
  h.now = 3;
  p.advance(10);  // a line (interval passed)
  p.finish();
  p.finish();
  h.now = 100;
  p.advance(1);
  EXPECT_EQ(h.lines().size(), 2u) << h.text();
  EXPECT_EQ(h.lines().back(), "x 10/10 100% 3.33 it/s elapsed 0:03");
}

TEST(Progress, TerminalRedrawsInPlaceAtMostTenTimesASecond) {
  Harness h;
  Progress p("epoch 2/10", 128, h.options(true));
  for (int i = 1; i <= 128; ++i) {
    h.now = i / 128.0;  // exact in binary: 13 steps (0.1016 s) between redraws
    p.advance(1, 32);
    EXPECT_EQ(h.text().find('\n'), std::string::npos) << "a newline before finish, at step " << i;
  }
  std::string live = h.text();
  EXPECT_EQ(std::count(live.begin(), live.end(), '\r'), 1 + 128 / 13);  // the first draw at once, then throttled
  EXPECT_EQ(live.rfind("\repoch 2/10 [>                             ] 0/128 0%\x1b[K", 0), 0u) << live;
  p.finish();
  std::string all = h.text();
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 1);
  std::string last = all.substr(all.rfind('\r'));
  EXPECT_EQ(last, "\repoch 2/10 [==============================] 128/128 100% 4.1k ex/s elapsed 0:01\x1b[K\n");
}

TEST(Progress, TerminalBarAndEta) {
  Harness h;
  Progress p("e", 10, h.options(true));
  h.now = 1;
  p.advance(5);
  std::string t = h.text();
  EXPECT_EQ(t.substr(t.rfind('\r')), "\re [===============>              ] 5/10 50% 5 it/s ETA 0:01\x1b[K");
}

TEST(Progress, MessageGoesAboveTheBar) {
  Harness h;
  Progress p("train", 10, h.options(true));
  h.now = 1;
  p.advance(2);
  p.message("saved checkpoint");
  std::string t = h.text();
  const std::string above = "\r\x1b[Ksaved checkpoint\n";
  size_t at = t.find(above);
  ASSERT_NE(at, std::string::npos) << t;
  EXPECT_EQ(t.substr(at + above.size()), "\rtrain [======>                       ] 2/10 20% 2 it/s ETA 0:04\x1b[K");
  p.finish();
  p.message("after");
  EXPECT_EQ(h.text().substr(h.text().size() - 6), "after\n");

  Harness plain;
  Progress q("train", 10, plain.options(false));
  q.message("hello");
  EXPECT_EQ(plain.text(), "hello\n");
}

TEST(Progress, UnknownTotalCountsWithoutBarOrEta) {
  Harness h;
  Progress p("scan", 0, h.options(false));
  h.now = 20;
  p.advance(7);
  p.finish();
  EXPECT_EQ(h.text(), "scan 7 0.35 it/s elapsed 0:20\nscan 7 0.35 it/s elapsed 0:20\n");

  Harness tty;
  Progress q("scan", -1, tty.options(true));
  for (int i = 1; i <= 3; ++i) {
    tty.now = i;
    q.advance(100, 5000);
  }
  q.finish();
  std::string t = tty.text();
  EXPECT_NE(t.find("\rscan | 0 elapsed 0:00"), std::string::npos) << t;  // the spinner turns on each redraw
  EXPECT_NE(t.find("\rscan / 100 5k ex/s elapsed 0:01"), std::string::npos) << t;
  EXPECT_NE(t.find("\rscan - 200 5k ex/s elapsed 0:02"), std::string::npos) << t;
  EXPECT_EQ(t.substr(t.rfind('\r')), "\rscan 300 5k ex/s elapsed 0:03\x1b[K\n");
  EXPECT_EQ(t.find('['), t.find("\x1b[K") + 1);  // no bar: the first '[' is the escape code's
}

TEST(Progress, NotATerminalByDefaultForAMemoryStream) {
  Harness h;
  Progress::Options o = h.options(false);
  o.tty.reset();
  o.unit = "tok";
  Progress p("x", 2, o);
  h.now = 4;
  p.advance(2, 100);
  p.finish();
  EXPECT_EQ(h.text(), "x 2/2 100% 25 tok/s elapsed 0:04\n");
}

TEST(Progress, RealClockByDefault) {
  Harness h;
  Progress::Options o = h.options(false);
  o.clock = nullptr;
  Progress p("x", 1, o);
  p.advance();
  p.finish();
  EXPECT_EQ(h.text().rfind("x 1/1 100% ", 0), 0u) << h.text();
  EXPECT_NE(h.text().find(" elapsed 0:00\n"), std::string::npos) << h.text();
}

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(7), "0:07");
  EXPECT_EQ(format_duration(7.4), "0:07");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(62), "1:02");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(36000), "10:00:00");
  EXPECT_EQ(format_duration(-1), "-:--");
  EXPECT_EQ(format_duration(std::nan("")), "-:--");
  EXPECT_EQ(format_duration(INFINITY), "-:--");
}

}  // namespace
}  // namespace attn::train
