#include "kernel/lib/byte_ring.h"

#include <gtest/gtest.h>

using exo::ByteRing;

TEST(ByteRing, FifoOrderAndFull)
{
    ByteRing<4> r;
    EXPECT_TRUE(r.empty());
    for (uint8_t i = 0; i < 4; ++i)
        EXPECT_TRUE(r.push(i));
    EXPECT_TRUE(r.full());
    EXPECT_FALSE(r.push(9));  // a full ring refuses instead of overwriting
    uint8_t b = 0;
    for (uint8_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(r.pop(b));
        EXPECT_EQ(b, i);
    }
    EXPECT_FALSE(r.pop(b));
}

TEST(ByteRing, WrapsManyTimes)
{
    ByteRing<8> r;
    uint8_t next_in = 0, next_out = 0, b = 0;
    for (int round = 0; round < 1000; ++round) {
        for (int k = 0; k < 5; ++k)
            ASSERT_TRUE(r.push(next_in++));
        for (int k = 0; k < 5; ++k) {
            ASSERT_TRUE(r.pop(b));
            ASSERT_EQ(b, next_out++);
        }
    }
    EXPECT_EQ(r.size(), 0u);
}
