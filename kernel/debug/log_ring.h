// The kernel log as a ring of whole records over a caller-provided byte
// buffer. Each record carries a level, a caller-supplied timestamp and a
// sequence number that only ever grows, so a reader (the `log` command, a
// host client) can resume where it stopped and can tell when it lost records.
// When the ring is full the oldest records are dropped and counted.
//
// Records are stored contiguously (a record never wraps around the end of the
// buffer), so readers get a plain pointer to each text. Not thread-safe: the
// kernel binding owns the lock.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <type_traits>

#include "kernel/lib/format.h"
#include "kernel/lib/names.h"

namespace exo {

enum class LogLevel : uint8_t { Error, Warn, Info, Debug };

inline const char* log_level_name(LogLevel level)
{
    return name_at("error\0warn\0info\0debug\0", static_cast<size_t>(level));
}

enum class LogTruncation : uint8_t { Complete, Truncated };

// One record as a reader sees it. `text` points into the ring, is not
// NUL-terminated, and is valid until the next append.
struct LogRecord {
    uint64_t seq;
    uint64_t timestamp;
    LogLevel level;
    LogTruncation truncation;
    const char* text;
    size_t length;
};

enum class LogVisit : uint8_t { Continue, Stop };

class LogRing {
public:
    using Visitor = LogVisit (*)(void* ctx, const LogRecord& record);

    // Bytes of bookkeeping stored in front of every record's text.
    static constexpr size_t kHeaderSize = 16;

    // A null `storage` or a capacity below kHeaderSize gives a ring that
    // stores nothing and counts every append as dropped. constexpr so a
    // global ring can be constinit.
    constexpr LogRing(char* storage, size_t capacity)
        : m_storage(storage), m_capacity(storage != nullptr && capacity >= kHeaderSize ? capacity : 0)
    {
    }

    // Stores a record and returns its sequence number. Text longer than the
    // ring can hold is truncated to fit (and marked so). A null `text` is an
    // empty record.
    uint64_t append(LogLevel level, uint64_t timestamp, const char* text, size_t length);
    uint64_t append(LogLevel level, uint64_t timestamp, const char* text);

    // Visits retained records with seq >= `seq`, oldest first, until the
    // visitor returns Stop. The visitor must not append to this ring.
    // Returns the sequence number to pass next time: one past the last
    // record visited, or max(seq, first_seq()) if none was.
    // A reader whose next record's seq is larger than asked has lost records.
    uint64_t read_from(uint64_t seq, Visitor visitor, void* ctx) const;

    // Same, with any callable taking `const LogRecord&` and returning void
    // (visit everything) or LogVisit.
    template<typename F>
    uint64_t read_from(uint64_t seq, F fn) const
    {
        Visitor thunk = [](void* ctx, const LogRecord& record) -> LogVisit {
            F& f = *static_cast<F*>(ctx);
            if constexpr (std::is_void_v<decltype(f(record))>) {
                f(record);
                return LogVisit::Continue;
            } else {
                return f(record);
            }
        };
        return read_from(seq, thunk, &fn);
    }

    // Forgets every record; sequence numbers keep growing.
    void clear();

    size_t count() const { return m_count; }
    uint64_t dropped() const { return m_dropped; }
    // Sequence number of the oldest retained record (== next_seq() if empty).
    uint64_t first_seq() const { return m_next_seq - m_count; }
    uint64_t next_seq() const { return m_next_seq; }
    size_t capacity() const { return m_capacity; }
    // Bytes in use, including headers and end-of-buffer padding.
    size_t used_bytes() const { return m_used; }

private:
    uint64_t append_record(LogLevel level, uint64_t timestamp, const char* text, size_t length,
                           LogTruncation truncation);
    void drop_oldest();
    // Position of the record header at or after `pos`, skipping padding.
    size_t skip_padding(size_t pos) const;

    char* m_storage;
    size_t m_capacity;
    size_t m_head { 0 };  // offset of the oldest record's header
    size_t m_tail { 0 };  // offset where the next record goes
    size_t m_used { 0 };
    size_t m_count { 0 };
    uint64_t m_next_seq { 0 };
    uint64_t m_dropped { 0 };
};

}  // namespace exo
