// Ring layout: records are [RecordHeader][text] back to back. A record never
// straddles the end of the buffer: when it does not fit in the bytes left
// before the end, those bytes become padding (marked by a pad header if there
// is room for one, implicit if fewer than kHeaderSize bytes remain) and the
// record starts at offset 0. Free space is always the single circular region
// [tail, head), which is what makes the fit test below sufficient.
#include "kernel/debug/log_ring.h"

namespace exo {

namespace {

enum RecordFlag : uint8_t {
    kFlagPad = 1 << 0,        // not a record: skip to offset 0
    kFlagTruncated = 1 << 1,  // text was cut to fit
};

// Stored with memcpy, so the storage needs no particular alignment.
struct RecordHeader {
    uint64_t timestamp;
    uint32_t length;  // text bytes following the header
    uint8_t level;
    uint8_t flags;
    uint16_t reserved;
};
static_assert(sizeof(RecordHeader) == LogRing::kHeaderSize);

RecordHeader load_header(const char* storage, size_t pos)
{
    RecordHeader h;
    __builtin_memcpy(&h, storage + pos, sizeof(h));
    return h;
}

void store_header(char* storage, size_t pos, const RecordHeader& h)
{
    __builtin_memcpy(storage + pos, &h, sizeof(h));
}

}  // namespace

void LogRing::clear()
{
    m_head = 0;
    m_tail = 0;
    m_used = 0;
    m_count = 0;
}

size_t LogRing::skip_padding(size_t pos) const
{
    if (m_capacity - pos < kHeaderSize)
        return 0;
    if ((load_header(m_storage, pos).flags & kFlagPad) != 0)
        return 0;
    return pos;
}

void LogRing::drop_oldest()
{
    RecordHeader h = load_header(m_storage, m_head);
    size_t size = kHeaderSize + h.length;
    m_head += size;
    m_used -= size;
    if (m_head == m_capacity)
        m_head = 0;
    --m_count;
    ++m_dropped;
    if (m_count == 0) {
        // Empty: restart at offset 0 so the next record has the whole buffer.
        clear();
        return;
    }
    size_t next = skip_padding(m_head);
    if (next != m_head) {
        m_used -= m_capacity - m_head;
        m_head = next;
    }
}

uint64_t LogRing::append(LogLevel level, uint64_t timestamp, const char* text, size_t length)
{
    return append_record(level, timestamp, text, length, LogTruncation::Complete);
}

uint64_t LogRing::append(LogLevel level, uint64_t timestamp, const char* text)
{
    return append_record(level, timestamp, text, text != nullptr ? __builtin_strlen(text) : 0,
                         LogTruncation::Complete);
}

uint64_t LogRing::append_record(LogLevel level, uint64_t timestamp, const char* text, size_t length,
                                LogTruncation truncation)
{
    uint64_t seq = m_next_seq++;
    if (m_capacity == 0) {
        ++m_dropped;
        return seq;
    }
    if (text == nullptr)
        length = 0;

    size_t max_text = m_capacity - kHeaderSize;
    if (max_text > UINT32_MAX)
        max_text = UINT32_MAX;
    if (length > max_text) {
        length = max_text;
        truncation = LogTruncation::Truncated;
    }
    size_t need = kHeaderSize + length;

    size_t waste = 0;
    for (;;) {
        size_t to_end = m_capacity - m_tail;
        waste = to_end >= need ? 0 : to_end;
        if (m_capacity - m_used >= waste + need)
            break;
        // Terminates: once empty, tail is 0 and the whole buffer is free.
        drop_oldest();
    }

    if (waste > 0) {
        if (waste >= kHeaderSize)
            store_header(m_storage, m_tail, RecordHeader { 0, 0, 0, kFlagPad, 0 });
        m_used += waste;
        m_tail = 0;
    }
    uint8_t flags = truncation == LogTruncation::Truncated ? kFlagTruncated : 0;
    store_header(m_storage, m_tail,
                 RecordHeader { timestamp, static_cast<uint32_t>(length), static_cast<uint8_t>(level), flags, 0 });
    if (length > 0)
        __builtin_memcpy(m_storage + m_tail + kHeaderSize, text, length);
    m_tail += need;
    if (m_tail == m_capacity)
        m_tail = 0;
    m_used += need;
    ++m_count;
    return seq;
}

uint64_t LogRing::read_from(uint64_t seq, Visitor visitor, void* ctx) const
{
    uint64_t first = first_seq();
    uint64_t resume = seq > first ? seq : first;
    size_t pos = m_head;
    for (size_t i = 0; i < m_count; ++i) {
        pos = skip_padding(pos);
        RecordHeader h = load_header(m_storage, pos);
        // Defence in depth: never hand out a text that runs past the buffer.
        if (h.length > m_capacity - pos - kHeaderSize)
            break;
        uint64_t record_seq = first + i;
        if (record_seq >= seq) {
            LogRecord record {
                record_seq,
                h.timestamp,
                static_cast<LogLevel>(h.level),
                (h.flags & kFlagTruncated) != 0 ? LogTruncation::Truncated : LogTruncation::Complete,
                m_storage + pos + kHeaderSize,
                h.length,
            };
            resume = record_seq + 1;
            if (visitor(ctx, record) == LogVisit::Stop)
                break;
        }
        pos += kHeaderSize + h.length;
        if (pos == m_capacity)
            pos = 0;
    }
    return resume;
}

}  // namespace exo
