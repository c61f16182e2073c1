#include "kernel/debug/symbol_table.h"

#include "kernel/lib/names.h"

namespace exo {
namespace {

constexpr size_t kHeaderBytes = 6;
constexpr unsigned kCodes = 256;
constexpr unsigned kFirstToken = 2;  // codes 0 and 1 end a name
constexpr uint8_t kEndPad1 = 1;
constexpr unsigned kMinChar = '"', kMaxChar = '~';  // what a name may hold
constexpr unsigned kSizeRadix = 224;

}  // namespace

SymbolTable::SymbolTable(const uint8_t* blob, size_t size)
{
    if (!blob || size < kHeaderBytes)
        return;
    uint32_t base;
    __builtin_memcpy(&base, blob, 4);
    unsigned tokens = blob[4], chars = blob[5];
    if (kFirstToken + tokens + chars > kCodes || size - kHeaderBytes < 2 * tokens + chars)
        return;
    m_base = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(base)));
    m_pairs = blob + kHeaderBytes;
    m_tokens = tokens;
    m_chars = m_pairs + 2 * tokens;
    m_char_count = chars;
    m_entries = m_chars + chars;
    m_end = blob + size;
}

bool SymbolTable::find(uint64_t addr, const char* name, SymbolHit& out) const
{
    const uint8_t* p = m_entries;
    uint64_t start = m_base;
    if (!p)
        return false;
    while (p < m_end) {
        uint64_t size = 0;
        for (;;) {
            if (p == m_end)
                return false;
            unsigned d = *p++;
            if (d < kSizeRadix) {
                size = size * kSizeRadix + d;
                break;
            }
            size = size * (256 - kSizeRadix) + d - kSizeRadix;
        }
        // Expand the name's codes: a token stands for its pair (the second
        // waits on a small stack), a character is stored, an end marker
        // stops. Every step is bounded by the stack depth, the name length or
        // the blob.
        uint8_t stack[kSymbolTokenDepth];
        unsigned sp = 0, n = 0;
        unsigned c;
        for (;;) {
            if (sp) {
                c = stack[--sp];
            } else {
                if (p == m_end)
                    return false;
                c = *p++;
            }
            for (unsigned t; (t = c - kFirstToken) < m_tokens; c = m_pairs[2 * t]) {
                if (sp == kSymbolTokenDepth)
                    return false;
                stack[sp++] = m_pairs[2 * t + 1];
            }
            if (c < kFirstToken)
                break;
            unsigned k = c - kFirstToken - m_tokens;
            if (n == kSymbolNameMax || k >= m_char_count)
                return false;  // longer than any name, or a code for nothing
            c = m_chars[k];
            if (c - kMinChar > kMaxChar - kMinChar)
                return false;  // unlike any name the generator writes
            out.name[n++] = static_cast<char>(c);
        }
        // Sizes may wrap in a corrupt blob; padding (an empty name) matches no name.
        if (name ? n && equals_name(out.name, n, name) : addr >= start && addr - start < size) {
            out.name[n] = 0;
            out.address = start;
            return n != 0;  // an empty name is padding
        }
        start += size + (c == kEndPad1);
    }
    return false;
}

}  // namespace exo
