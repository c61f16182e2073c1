// The kernel log ring against a list of every record appended: after each
// append, read or clear, the records a full read visits are exactly the
// newest `count()` records appended since the last clear, oldest first, with
// their level, timestamp, text and truncation mark; the newest is always
// kept; used bytes cover the records and stay within the capacity; every
// record is either retained, dropped (and counted) or cleared. Reads from a
// given sequence number, stopped early, resume where they stopped. The
// storage is an exact-size heap block, so ASan sees any byte outside it.
// Input: capacity, then operations (append / read / clear).
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel/debug/log_ring.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using exo::LogRecord;
using exo::LogRing;
using exo::fuzz::FuzzInput;

namespace {

struct Expected {
    uint64_t timestamp;
    exo::LogLevel level;
    std::string text;
    bool truncated;
};

struct Checker {
    const LogRing& ring;
    const char* storage;
    size_t capacity;
    std::vector<Expected> appended;  // index = sequence number
    uint64_t cleared = 0;            // records forgotten by clear()
    uint64_t cleared_before = 0;     // sequence numbers below this were cleared

    // Visits from `seq`, stopping after `limit` records; checks each.
    void read(uint64_t seq, size_t limit)
    {
        size_t visited = 0;
        uint64_t last = 0;
        uint64_t resume = ring.read_from(seq, [&](const LogRecord& r) {
            FUZZ_CHECK(r.seq >= seq && r.seq >= ring.first_seq() && r.seq < ring.next_seq());
            FUZZ_CHECK(visited == 0 || r.seq == last + 1);
            FUZZ_CHECK(r.text >= storage && r.length <= capacity && r.text + r.length <= storage + capacity);
            const Expected& e = appended.at(r.seq);
            FUZZ_CHECK(r.timestamp == e.timestamp && r.level == e.level);
            FUZZ_CHECK(std::string(r.text, r.length) == e.text);
            FUZZ_CHECK((r.truncation == exo::LogTruncation::Truncated) == e.truncated);
            last = r.seq;
            return ++visited == limit ? exo::LogVisit::Stop : exo::LogVisit::Continue;
        });
        uint64_t first = ring.first_seq() > seq ? ring.first_seq() : seq;
        FUZZ_CHECK(resume == (visited != 0 ? last + 1 : first));
        if (limit > ring.count() && seq <= ring.first_seq())
            FUZZ_CHECK(visited == ring.count());
    }

    void check_totals()
    {
        uint64_t total = appended.size();
        FUZZ_CHECK(ring.next_seq() == total);
        FUZZ_CHECK(ring.first_seq() + ring.count() == total);
        FUZZ_CHECK(ring.first_seq() >= cleared_before);
        FUZZ_CHECK(ring.count() + ring.dropped() + cleared == total);
        FUZZ_CHECK(ring.used_bytes() <= ring.capacity());
        size_t bytes = 0;
        for (uint64_t s = ring.first_seq(); s < total; ++s)
            bytes += LogRing::kHeaderSize + appended[s].text.size();
        FUZZ_CHECK(bytes <= ring.used_bytes());
        read(0, SIZE_MAX);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    size_t capacity = in.below(400);
    std::unique_ptr<char[]> storage(capacity != 0 ? new char[capacity] : nullptr);
    LogRing ring(storage.get(), capacity);
    size_t usable = ring.capacity();  // 0 below the header size
    FUZZ_CHECK(usable == (capacity >= LogRing::kHeaderSize ? capacity : 0));
    Checker checker { ring, storage.get(), usable, {} };

    while (!in.empty()) {
        uint8_t op = in.byte();
        switch (op % 4) {
        case 0:
        case 1: {
            auto level = static_cast<exo::LogLevel>(op / 4 % 4);
            uint64_t timestamp = in.take<uint64_t>();
            std::string text = in.text(in.below(usable + 40));
            bool with_nul = op & 0x40;
            if (with_nul)
                text = text.c_str();  // the NUL-terminated overload stops at the first NUL
            // Exact-size copy: the length-taking overload must not read past it.
            std::unique_ptr<char[]> copy(new char[text.size() + 1]);
            memcpy(copy.get(), text.data(), text.size());
            copy[text.size()] = '\0';
            uint64_t seq = with_nul ? ring.append(level, timestamp, copy.get())
                                    : ring.append(level, timestamp, copy.get(), text.size());
            FUZZ_CHECK(seq == checker.appended.size());
            size_t max_text = usable >= LogRing::kHeaderSize ? usable - LogRing::kHeaderSize : 0;
            bool truncated = usable != 0 && text.size() > max_text;
            checker.appended.push_back({ timestamp, level, truncated ? text.substr(0, max_text) : text, truncated });
            // The newest record is always kept (unless nothing can be).
            FUZZ_CHECK(usable == 0 ? ring.count() == 0 : ring.first_seq() + ring.count() == seq + 1);
            break;
        }
        case 2: {
            uint64_t seq = in.take<uint16_t>() % (checker.appended.size() + 2);
            checker.read(seq, 1 + in.below(8));
            break;
        }
        case 3:
            if ((op & 0xF0) == 0xF0) {  // rarely, so the ring fills
                checker.cleared += ring.count();
                checker.cleared_before = checker.appended.size();
                ring.clear();
                FUZZ_CHECK(ring.count() == 0 && ring.used_bytes() == 0);
            }
            break;
        }
        checker.check_totals();
    }
    return 0;
}
