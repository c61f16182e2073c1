#include "kernel/debug/symbol_table.h"

#include "kernel/lib/names.h"

namespace exo {
namespace {

constexpr size_t kHeaderBytes = 9;
constexpr unsigned kMaxTokens = 0x100 - 0x7F + 0x20;  // codes 0x7F..0xFF, 0x00..0x1F
constexpr uint8_t kTokenBase = 0x7F;
constexpr uint8_t kEnd = ' ';
constexpr uint8_t kEndPad1 = '!';
constexpr unsigned kFirstChar = '"', kLastChar = '~';  // a name's characters
constexpr unsigned kSizeRadix = 224;

}  // namespace

SymbolTable::SymbolTable(const uint8_t* blob, size_t size)
{
    if (!blob || size < kHeaderBytes)
        return;
    uint32_t magic, base;
    __builtin_memcpy(&magic, blob, 4);
    __builtin_memcpy(&base, blob + 4, 4);
    unsigned tokens = blob[8];
    if (magic != kSymbolTableMagic || tokens > kMaxTokens || size - kHeaderBytes < 2 * tokens)
        return;
    m_base = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(base)));
    m_tokens = tokens;
    m_pairs = blob + kHeaderBytes;
    m_entries = m_pairs + 2 * tokens;
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
        // waits on a small stack), a character is stored, the end marker
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
            for (unsigned t; (t = static_cast<uint8_t>(c - kTokenBase)) < m_tokens; c = m_pairs[2 * t]) {
                if (sp == kSymbolTokenDepth)
                    return false;
                stack[sp++] = m_pairs[2 * t + 1];
            }
            if (c == kEnd || c == kEndPad1)
                break;
            if (n == kSymbolNameMax || c - kFirstChar > kLastChar - kFirstChar)
                return false;  // longer than, or unlike, any name the generator writes
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
