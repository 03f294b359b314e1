#include "core/backoff.hpp"

#include <gtest/gtest.h>

using pgm::retry_delay_ms;

TEST(Backoff, DoublesUpToTheCap) {
  EXPECT_DOUBLE_EQ(retry_delay_ms(1, 100, 10000, 1.0), 100);
  EXPECT_DOUBLE_EQ(retry_delay_ms(2, 100, 10000, 1.0), 200);
  EXPECT_DOUBLE_EQ(retry_delay_ms(4, 100, 10000, 1.0), 800);
  EXPECT_DOUBLE_EQ(retry_delay_ms(20, 100, 10000, 1.0), 10000);
  EXPECT_DOUBLE_EQ(retry_delay_ms(1000, 100, 10000, 1.0), 10000);
}

TEST(Backoff, JitterStaysWithinHalfToFull) {
  EXPECT_DOUBLE_EQ(retry_delay_ms(3, 100, 10000, 0.0), 200);
  EXPECT_DOUBLE_EQ(retry_delay_ms(3, 100, 10000, 0.5), 300);
  for (double r = 0; r < 1; r += 0.01) {
    double d = retry_delay_ms(5, 50, 100000, r);
    EXPECT_GE(d, 400);
    EXPECT_LE(d, 800);
  }
}

TEST(Backoff, NothingForInvalidInput) {
  EXPECT_EQ(retry_delay_ms(0, 100, 1000, 0.3), 0);
  EXPECT_EQ(retry_delay_ms(1, 0, 1000, 0.3), 0);
}
