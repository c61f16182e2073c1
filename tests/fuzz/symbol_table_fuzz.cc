// The embedded symbol table's decoder, two ways.
// Any blob, any address: the lookup must not read outside the blob, loop
// forever or write past the name; a hit has a non-empty name and starts at
// or below the address. (A corrupt blob may name the wrong function.)
// Encode then decode: the input also describes a table (tokens, then
// functions and padding with their sizes and names), encoded here as
// cmake/gen_ksyms.py does; every function's first and last byte must
// resolve to its name and start, and padding, the byte after a `!` entry
// and addresses outside the table must not resolve.
// Names: every function's name finds the first function so named.
// Input: 8 bytes of address (little-endian), then the blob (also read as
// the table description).
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel/debug/symbol_table.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using exo::SymbolHit;
using exo::SymbolTable;
using exo::fuzz::FuzzInput;

namespace {

constexpr uint8_t kEnd = 0;
constexpr uint8_t kEndPad1 = 1;
constexpr uint8_t kFirstToken = 2;  // then the characters

void lookup_any(const uint8_t* data, size_t size)
{
    uint64_t addr;
    memcpy(&addr, data, 8);
    // An exact copy, so ASan flags a read one byte past the blob.
    size_t len = size - 8;
    std::unique_ptr<uint8_t[]> blob(new uint8_t[len]);
    memcpy(blob.get(), data + 8, len);
    SymbolTable table(blob.get(), len);
    SymbolHit hit;
    // Nearby addresses reach other entries of the same blob.
    for (uint64_t a : { addr, addr + 1, addr - 1, addr + 0x100, addr ^ 0xFFFF }) {
        if (table.lookup(a, hit)) {
            size_t n = strnlen(hit.name, sizeof hit.name);
            FUZZ_CHECK(n != sizeof hit.name && n != 0 && hit.address <= a);
            // By name: the same walk finds a function of that name (this
            // one or an earlier namesake), never one of another name.
            char name[sizeof hit.name];
            memcpy(name, hit.name, sizeof name);
            FUZZ_CHECK(table.lookup_name(name, hit) && strcmp(hit.name, name) == 0 && hit.address <= a);
        }
    }
    // Any bytes as a name: a hit is exactly that name.
    char name[16] {};
    memcpy(name, data, size < 15 ? size : 15);
    if (table.lookup_name(name, hit))
        FUZZ_CHECK(name[0] != 0 && strcmp(hit.name, name) == 0);
}

struct Entry {
    uint64_t start;
    uint64_t size;
    std::string name;  // expanded; empty for padding
    bool pad1;         // one byte of padding follows
};

// Size digits: leading base-32 digits 224..255, then one below 224.
void put_size(std::vector<uint8_t>& out, uint64_t size)
{
    std::vector<uint8_t> leading;
    for (uint64_t q = size / 224; q != 0; q /= 32)
        leading.insert(leading.begin(), static_cast<uint8_t>(224 + q % 32));
    out.insert(out.end(), leading.begin(), leading.end());
    out.push_back(static_cast<uint8_t>(size % 224));
}

void encode_then_decode(FuzzInput in)
{
    int32_t base = in.take<int32_t>();
    // Tokens stand for pairs of characters or earlier tokens: no cycles, and
    // nesting stays within the decoder's depth.
    size_t tokens = in.below(9);
    size_t chars = 1 + in.below('~' - '"' + 1);  // '"' onwards
    std::vector<uint8_t> blob(6);
    memcpy(blob.data(), &base, 4);
    blob[4] = static_cast<uint8_t>(tokens);
    blob[5] = static_cast<uint8_t>(chars);
    uint8_t first_char = static_cast<uint8_t>(kFirstToken + tokens);
    std::vector<std::string> expansion;
    auto code = [&](uint8_t choice, size_t known) -> uint8_t {
        if (known != 0 && choice >= 0xC0)
            return static_cast<uint8_t>(kFirstToken + choice % known);
        return static_cast<uint8_t>(first_char + choice % chars);
    };
    auto expand = [&](uint8_t c) {
        return c < first_char ? expansion[c - kFirstToken] : std::string(1, static_cast<char>('"' + c - first_char));
    };
    for (size_t i = 0; i < tokens; ++i) {
        uint8_t a = code(in.byte(), i), b = code(in.byte(), i);
        blob.push_back(a);
        blob.push_back(b);
        expansion.push_back(expand(a) + expand(b));
    }
    for (size_t i = 0; i < chars; ++i)
        blob.push_back(static_cast<uint8_t>('"' + i));

    std::vector<Entry> entries;
    uint64_t at = static_cast<uint64_t>(static_cast<int64_t>(base));
    while (!in.empty() && entries.size() < 64) {
        uint8_t kind = in.byte();
        Entry e { at, kind & 0x80 ? in.take<uint16_t>() : in.byte() % 64u, "", (kind & 1) != 0 };
        if (e.size + e.pad1 > UINT64_MAX - at)
            break;  // the format cannot hold a function that wraps past 2^64
        put_size(blob, e.size);
        if (kind & 2) {  // a function; otherwise padding (an empty name)
            size_t codes = 1 + in.below(12);
            for (size_t i = 0; i < codes; ++i) {
                uint8_t c = code(in.byte(), tokens);
                if (e.name.size() + expand(c).size() > exo::kSymbolNameMax)
                    break;
                blob.push_back(c);
                e.name += expand(c);
            }
        }
        blob.push_back(e.pad1 ? kEndPad1 : kEnd);
        at += e.size + e.pad1;
        entries.push_back(e);
    }

    std::unique_ptr<uint8_t[]> copy(new uint8_t[blob.size()]);
    memcpy(copy.get(), blob.data(), blob.size());
    SymbolTable table(copy.get(), blob.size());
    FUZZ_CHECK(table.valid());
    SymbolHit hit;
    auto resolves_to = [&](uint64_t address, const Entry& e) {
        return table.lookup(address, hit) && hit.address == e.start && hit.name == e.name;
    };
    for (const Entry& e : entries) {
        if (e.size == 0)
            continue;  // holds no address
        if (e.name.empty()) {
            FUZZ_CHECK(!table.lookup(e.start, hit) && !table.lookup(e.start + e.size - 1, hit));
        } else {
            FUZZ_CHECK(resolves_to(e.start, e) && resolves_to(e.start + e.size - 1, e));
        }
        if (e.pad1)
            FUZZ_CHECK(!table.lookup(e.start + e.size, hit));
    }
    uint64_t first = static_cast<uint64_t>(static_cast<int64_t>(base));
    FUZZ_CHECK(!table.lookup(first - 1, hit) && !table.lookup(at, hit));
    // By name: the first entry of each name, whatever its size.
    for (const Entry& e : entries) {
        if (e.name.empty())
            continue;
        const Entry* first_named = &e;
        for (const Entry& f : entries)
            if (f.name == e.name) {
                first_named = &f;
                break;
            }
        FUZZ_CHECK(table.lookup_name(e.name.c_str(), hit) && hit.address == first_named->start);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 8)
        return 0;
    lookup_any(data, size);
    encode_then_decode(FuzzInput(data + 8, size - 8));
    return 0;
}
