#include "kernel/debug/log_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

using exo::LogLevel;
using exo::LogRecord;
using exo::LogRing;
using exo::LogTruncation;
using exo::LogVisit;

constexpr size_t kGuard = 64;
constexpr char kGuardByte = '\x5a';

// Storage with guard bytes on both sides so any write outside the ring shows.
class GuardedStorage {
public:
    explicit GuardedStorage(size_t capacity) : m_bytes(capacity + 2 * kGuard, kGuardByte), m_capacity(capacity) {}
    char* data() { return m_bytes.data() + kGuard; }
    size_t capacity() const { return m_capacity; }
    bool guards_intact() const
    {
        for (size_t i = 0; i < kGuard; ++i) {
            if (m_bytes[i] != kGuardByte || m_bytes[kGuard + m_capacity + i] != kGuardByte)
                return false;
        }
        return true;
    }

private:
    std::vector<char> m_bytes;
    size_t m_capacity;
};

struct Seen {
    uint64_t seq;
    uint64_t timestamp;
    LogLevel level;
    LogTruncation truncation;
    std::string text;
};

std::vector<Seen> read_all(const LogRing& ring, uint64_t from = 0, uint64_t* resume = nullptr)
{
    std::vector<Seen> out;
    uint64_t next = ring.read_from(from, [&](const LogRecord& r) {
        out.push_back(Seen { r.seq, r.timestamp, r.level, r.truncation, std::string(r.text, r.length) });
    });
    if (resume != nullptr)
        *resume = next;
    return out;
}

TEST(LogRing, EmptyRing)
{
    GuardedStorage mem(256);
    LogRing ring(mem.data(), mem.capacity());
    EXPECT_EQ(ring.count(), 0u);
    EXPECT_EQ(ring.dropped(), 0u);
    EXPECT_EQ(ring.first_seq(), 0u);
    EXPECT_EQ(ring.next_seq(), 0u);
    EXPECT_EQ(ring.used_bytes(), 0u);
    uint64_t resume = 99;
    EXPECT_TRUE(read_all(ring, 0, &resume).empty());
    EXPECT_EQ(resume, 0u);
}

TEST(LogRing, AppendAndReadBack)
{
    GuardedStorage mem(256);
    LogRing ring(mem.data(), mem.capacity());
    EXPECT_EQ(ring.append(LogLevel::Info, 100, "boot", 4), 0u);
    EXPECT_EQ(ring.append(LogLevel::Warn, 200, "no ACPI"), 1u);
    EXPECT_EQ(ring.append(LogLevel::Error, 300, "disk failed", 4), 2u);  // explicit length wins
    EXPECT_EQ(ring.append(LogLevel::Debug, 400, nullptr, 10), 3u);       // null text is empty
    EXPECT_EQ(ring.count(), 4u);
    EXPECT_EQ(ring.used_bytes(), 4 * LogRing::kHeaderSize + 4 + 7 + 4);

    uint64_t resume = 0;
    auto recs = read_all(ring, 0, &resume);
    ASSERT_EQ(recs.size(), 4u);
    EXPECT_EQ(resume, 4u);
    EXPECT_EQ(recs[0].seq, 0u);
    EXPECT_EQ(recs[0].timestamp, 100u);
    EXPECT_EQ(recs[0].level, LogLevel::Info);
    EXPECT_EQ(recs[0].text, "boot");
    EXPECT_EQ(recs[0].truncation, LogTruncation::Complete);
    EXPECT_EQ(recs[1].level, LogLevel::Warn);
    EXPECT_EQ(recs[1].text, "no ACPI");
    EXPECT_EQ(recs[2].level, LogLevel::Error);
    EXPECT_EQ(recs[2].text, "disk");
    EXPECT_EQ(recs[3].seq, 3u);
    EXPECT_EQ(recs[3].level, LogLevel::Debug);
    EXPECT_EQ(recs[3].text, "");
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, LevelNames)
{
    EXPECT_STREQ(exo::log_level_name(LogLevel::Error), "error");
    EXPECT_STREQ(exo::log_level_name(LogLevel::Warn), "warn");
    EXPECT_STREQ(exo::log_level_name(LogLevel::Info), "info");
    EXPECT_STREQ(exo::log_level_name(LogLevel::Debug), "debug");
    EXPECT_STREQ(exo::log_level_name(static_cast<LogLevel>(9)), "?");
}

TEST(LogRing, DropsOldestAndCounts)
{
    // Each record: 16-byte header + 16 chars = 32 bytes; exactly 4 fit.
    GuardedStorage mem(128);
    LogRing ring(mem.data(), mem.capacity());
    for (int i = 0; i < 10; ++i) {
        char text[32];
        ASSERT_EQ(exo::format_to(text, sizeof(text), "record number %02d", i), 16u);
        ring.append(LogLevel::Info, static_cast<uint64_t>(i), text, 16);
    }
    EXPECT_EQ(ring.count(), 4u);
    EXPECT_EQ(ring.dropped(), 6u);
    EXPECT_EQ(ring.first_seq(), 6u);
    EXPECT_EQ(ring.next_seq(), 10u);
    EXPECT_EQ(ring.used_bytes(), 128u);
    auto recs = read_all(ring);
    ASSERT_EQ(recs.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(recs[i].seq, 6 + i);
        EXPECT_EQ(recs[i].timestamp, 6 + i);
        EXPECT_EQ(recs[i].text, "record number 0" + std::to_string(6 + i));
    }
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, ResumeBySequence)
{
    GuardedStorage mem(128);
    LogRing ring(mem.data(), mem.capacity());
    for (int i = 0; i < 3; ++i)
        ring.append(LogLevel::Info, 0, "abcdefghijklmnop", 16);

    // Reader takes one record at a time.
    uint64_t cursor = 0;
    std::vector<uint64_t> got;
    for (int step = 0; step < 5; ++step) {
        cursor = ring.read_from(cursor, [&](const LogRecord& r) {
            got.push_back(r.seq);
            return LogVisit::Stop;
        });
    }
    EXPECT_EQ(got, (std::vector<uint64_t> { 0, 1, 2 }));
    EXPECT_EQ(cursor, 3u);

    // New records arrive; the reader sees only those.
    ring.append(LogLevel::Info, 0, "abcdefghijklmnop", 16);
    ring.append(LogLevel::Info, 0, "abcdefghijklmnop", 16);
    auto recs = read_all(ring, cursor, &cursor);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].seq, 3u);
    EXPECT_EQ(recs[1].seq, 4u);
    EXPECT_EQ(cursor, 5u);

    // Reader falls behind: records 5..11 arrive, 5..7 are dropped. The
    // reader notices the gap by the first seq it gets.
    for (int i = 0; i < 7; ++i)
        ring.append(LogLevel::Info, 0, "abcdefghijklmnop", 16);
    recs = read_all(ring, cursor, &cursor);
    ASSERT_EQ(recs.size(), 4u);
    EXPECT_EQ(recs.front().seq, 8u);
    EXPECT_EQ(recs.back().seq, 11u);
    EXPECT_EQ(cursor, 12u);

    // Caught up: nothing more, cursor unchanged. A cursor from the future
    // visits nothing and is returned as given.
    EXPECT_TRUE(read_all(ring, cursor, &cursor).empty());
    EXPECT_EQ(cursor, 12u);
    uint64_t future = 0;
    EXPECT_TRUE(read_all(ring, 1000, &future).empty());
    EXPECT_EQ(future, 1000u);
    // A stale cursor with nothing left past it is moved up to first_seq.
    ring.clear();
    EXPECT_EQ(ring.read_from(0, [](const LogRecord&) {}), 12u);
}

TEST(LogRing, FunctionPointerVisitor)
{
    GuardedStorage mem(200);
    LogRing ring(mem.data(), mem.capacity());
    ring.append(LogLevel::Info, 1, "a");
    ring.append(LogLevel::Info, 2, "bb");
    ring.append(LogLevel::Info, 3, "ccc");
    size_t total = 0;
    LogRing::Visitor v = [](void* ctx, const LogRecord& r) {
        *static_cast<size_t*>(ctx) += r.length;
        return LogVisit::Continue;
    };
    EXPECT_EQ(ring.read_from(1, v, &total), 3u);
    EXPECT_EQ(total, 5u);
}

TEST(LogRing, RecordBiggerThanRingIsTruncated)
{
    GuardedStorage mem(64);
    LogRing ring(mem.data(), mem.capacity());
    ring.append(LogLevel::Info, 1, "first");
    std::string big(500, 'x');
    for (size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(ring.append(LogLevel::Error, 2, big.data(), big.size()), 1u);
    EXPECT_EQ(ring.count(), 1u);
    EXPECT_EQ(ring.dropped(), 1u);
    EXPECT_EQ(ring.used_bytes(), 64u);
    auto recs = read_all(ring);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].seq, 1u);
    EXPECT_EQ(recs[0].truncation, LogTruncation::Truncated);
    EXPECT_EQ(recs[0].text, big.substr(0, 64 - LogRing::kHeaderSize));
    EXPECT_TRUE(mem.guards_intact());

    // The ring keeps working afterwards.
    ring.append(LogLevel::Info, 3, "after");
    recs = read_all(ring);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].text, "after");
    EXPECT_EQ(ring.dropped(), 2u);
}

TEST(LogRing, RecordOfExactlyCapacityFits)
{
    GuardedStorage mem(48);
    LogRing ring(mem.data(), mem.capacity());
    std::string text(32, 'q');
    ring.append(LogLevel::Info, 0, "x");
    ring.append(LogLevel::Info, 0, text.data(), text.size());
    auto recs = read_all(ring);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].text, text);
    EXPECT_EQ(recs[0].truncation, LogTruncation::Complete);
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, TooSmallOrNullStorageStoresNothing)
{
    GuardedStorage mem(LogRing::kHeaderSize - 1);
    for (LogRing ring : { LogRing(mem.data(), mem.capacity()), LogRing(nullptr, 4096), LogRing(mem.data(), 0) }) {
        EXPECT_EQ(ring.capacity(), 0u);
        EXPECT_EQ(ring.append(LogLevel::Info, 0, "hello"), 0u);
        EXPECT_EQ(ring.append(LogLevel::Info, 0, "again"), 1u);
        EXPECT_EQ(ring.count(), 0u);
        EXPECT_EQ(ring.dropped(), 2u);
        EXPECT_EQ(ring.first_seq(), 2u);
        uint64_t resume = 0;
        EXPECT_TRUE(read_all(ring, 0, &resume).empty());
        EXPECT_EQ(resume, 2u);
    }
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, CapacityOfOneHeaderHoldsEmptyRecords)
{
    GuardedStorage mem(LogRing::kHeaderSize);
    LogRing ring(mem.data(), mem.capacity());
    ring.append(LogLevel::Warn, 7, "text");
    ring.append(LogLevel::Warn, 8, "more");
    auto recs = read_all(ring);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].seq, 1u);
    EXPECT_EQ(recs[0].timestamp, 8u);
    EXPECT_EQ(recs[0].text, "");
    EXPECT_EQ(recs[0].truncation, LogTruncation::Truncated);
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, WrapWithPadHeader)
{
    // 40-byte records (16 + 24) in 100 bytes: at offset 80 only 20 bytes
    // remain, enough for a pad header but not the record.
    GuardedStorage mem(100);
    LogRing ring(mem.data(), mem.capacity());
    const std::string t(24, 'p');
    for (int i = 0; i < 3; ++i)
        ring.append(LogLevel::Info, static_cast<uint64_t>(i), t.data(), t.size());
    EXPECT_EQ(ring.count(), 2u);
    EXPECT_EQ(ring.dropped(), 1u);
    EXPECT_EQ(ring.used_bytes(), 40u + 20u + 40u);
    ring.append(LogLevel::Info, 3, t.data(), t.size());
    EXPECT_EQ(ring.count(), 2u);
    auto recs = read_all(ring);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].seq, 2u);
    EXPECT_EQ(recs[1].seq, 3u);
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, WrapWithImplicitPadding)
{
    // 40-byte records in 90 bytes: at offset 80 only 10 bytes remain, too
    // few for even a pad header.
    GuardedStorage mem(90);
    LogRing ring(mem.data(), mem.capacity());
    const std::string t(24, 'i');
    for (int i = 0; i < 6; ++i) {
        ring.append(LogLevel::Info, static_cast<uint64_t>(i), t.data(), t.size());
        auto recs = read_all(ring);
        ASSERT_FALSE(recs.empty());
        EXPECT_EQ(recs.back().seq, static_cast<uint64_t>(i));
        for (auto& r : recs)
            EXPECT_EQ(r.text, t);
    }
    EXPECT_EQ(ring.count() + ring.dropped(), 6u);
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, UnalignedStorage)
{
    GuardedStorage mem(203);
    LogRing ring(mem.data() + 3, 199);
    for (int i = 0; i < 50; ++i)
        ring.append(LogLevel::Debug, UINT64_MAX - static_cast<uint64_t>(i), "unaligned line");
    auto recs = read_all(ring);
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(recs.back().timestamp, UINT64_MAX - 49);
    EXPECT_EQ(recs.back().text, "unaligned line");
    EXPECT_TRUE(mem.guards_intact());
}

TEST(LogRing, ClearKeepsSequenceGrowing)
{
    GuardedStorage mem(128);
    LogRing ring(mem.data(), mem.capacity());
    ring.append(LogLevel::Info, 0, "one");
    ring.append(LogLevel::Info, 0, "two");
    ring.clear();
    EXPECT_EQ(ring.count(), 0u);
    EXPECT_EQ(ring.used_bytes(), 0u);
    EXPECT_EQ(ring.first_seq(), 2u);
    EXPECT_EQ(ring.append(LogLevel::Info, 0, "three"), 2u);
    auto recs = read_all(ring);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].seq, 2u);
    EXPECT_EQ(recs[0].text, "three");
}

// Many records of pseudo-random length against a model of what was appended:
// retained records are always the newest ones, intact and in order, every
// record is either retained or counted as dropped, and the ring does not drop
// far more than it has to.
TEST(LogRing, ManyRecordsWraparoundAgainstModel)
{
    for (size_t capacity : { size_t { 100 }, size_t { 257 }, size_t { 1024 }, size_t { 4099 } }) {
        GuardedStorage mem(capacity);
        LogRing ring(mem.data(), mem.capacity());
        std::vector<std::string> appended;
        uint32_t rng = 12345;
        constexpr size_t kMaxText = 70;
        for (int i = 0; i < 5000; ++i) {
            rng = rng * 1103515245u + 12345u;
            size_t len = (rng >> 16) % (kMaxText + 1);
            std::string text(len, '\0');
            for (size_t k = 0; k < len; ++k)
                text[k] = static_cast<char>('A' + (i + k) % 26);
            uint64_t seq = ring.append(static_cast<LogLevel>(i % 4), static_cast<uint64_t>(i) * 3, text.data(), len);
            ASSERT_EQ(seq, static_cast<uint64_t>(i));
            size_t stored_len = len < capacity - LogRing::kHeaderSize ? len : capacity - LogRing::kHeaderSize;
            appended.push_back(text.substr(0, stored_len));

            ASSERT_EQ(ring.count() + ring.dropped(), appended.size());
            ASSERT_LE(ring.used_bytes(), capacity);
            uint64_t resume = 0;
            auto recs = read_all(ring, 0, &resume);
            ASSERT_EQ(recs.size(), ring.count());
            ASSERT_FALSE(recs.empty());  // the newest record is always kept
            ASSERT_EQ(resume, appended.size());
            size_t retained_bytes = 0;
            for (size_t k = 0; k < recs.size(); ++k) {
                uint64_t expect_seq = ring.first_seq() + k;
                ASSERT_EQ(recs[k].seq, expect_seq);
                ASSERT_EQ(recs[k].timestamp, expect_seq * 3);
                ASSERT_EQ(recs[k].level, static_cast<LogLevel>(expect_seq % 4));
                ASSERT_EQ(recs[k].text, appended[expect_seq]);
                retained_bytes += LogRing::kHeaderSize + recs[k].text.size();
            }
            // At most one padding region and one dropped-record's worth of
            // slack beyond the new record's own need.
            constexpr size_t kMaxNeed = LogRing::kHeaderSize + kMaxText;
            if (ring.dropped() > 0 && capacity > 4 * kMaxNeed) {
                ASSERT_GT(retained_bytes, capacity - 4 * kMaxNeed);
            }
        }
        EXPECT_GT(ring.dropped(), 0u);
        EXPECT_TRUE(mem.guards_intact());
    }
}

}  // namespace
