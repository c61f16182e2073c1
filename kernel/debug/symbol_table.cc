#include "kernel/debug/symbol_table.h"

namespace exo {
namespace {

constexpr size_t kHeaderBytes = 16;
constexpr size_t kEntryBytes = 8;
uint32_t read_u32(const uint8_t* p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

uint16_t read_u16(const uint8_t* p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

SymbolTable::SymbolTable(const uint8_t* blob, size_t size)
{
    if (!blob || size < kHeaderBytes || read_u32(blob) != kSymbolTableMagic)
        return;
    uint32_t count = read_u32(blob + 4);
    if (count == 0 || count > (size - kHeaderBytes) / kEntryBytes)
        return;
    // Names must be NUL-terminated inside the blob.
    if (blob[size - 1] != 0)
        return;
    __builtin_memcpy(&m_base, blob + 8, sizeof m_base);
    m_blob = blob;
    m_size = size;
    m_count = count;
}

uint32_t SymbolTable::offset_at(uint32_t i) const { return read_u32(m_blob + kHeaderBytes + i * kEntryBytes); }

bool SymbolTable::lookup(uint64_t addr, SymbolHit& out) const
{
    if (!m_count || addr < m_base || addr - m_base > 0xFFFFFFFFull)
        return false;
    uint32_t off = static_cast<uint32_t>(addr - m_base);
    // Binary search for the last entry with offset <= off.
    uint32_t lo = 0, hi = m_count;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (offset_at(mid) <= off)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t start = offset_at(lo);
    const uint8_t* entry = m_blob + kHeaderBytes + lo * kEntryBytes;
    // Past the function's end (or in a function too small to be listed): no name.
    if (start > off || off - start >= read_u16(entry + 4))
        return false;
    size_t strings = kHeaderBytes + m_count * kEntryBytes;
    uint32_t name_off = read_u16(entry + 6);
    if (strings + name_off >= m_size)
        return false;
    out.name = reinterpret_cast<const char*>(m_blob + strings + name_off);
    out.address = m_base + start;
    return true;
}

}  // namespace exo
