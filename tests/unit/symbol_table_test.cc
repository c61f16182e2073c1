#include "kernel/debug/symbol_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using exo::SymbolHit;
using exo::SymbolTable;

namespace {

struct Sym {
    uint32_t offset;
    uint16_t size;
    std::string name;
};

// Builds a blob in the format cmake/gen_ksyms.py writes.
std::vector<uint8_t> blob(uint64_t base, const std::vector<Sym>& syms)
{
    std::vector<uint8_t> out(16 + syms.size() * 8);
    std::string strings;
    uint32_t magic = exo::kSymbolTableMagic, count = static_cast<uint32_t>(syms.size());
    std::memcpy(out.data(), &magic, 4);
    std::memcpy(out.data() + 4, &count, 4);
    std::memcpy(out.data() + 8, &base, 8);
    for (size_t i = 0; i < syms.size(); ++i) {
        uint32_t off = syms[i].offset;
        uint16_t size = syms[i].size, name = static_cast<uint16_t>(strings.size());
        std::memcpy(out.data() + 16 + i * 8, &off, 4);
        std::memcpy(out.data() + 20 + i * 8, &size, 2);
        std::memcpy(out.data() + 22 + i * 8, &name, 2);
        strings += syms[i].name;
        strings += '\0';
    }
    out.insert(out.end(), strings.begin(), strings.end());
    return out;
}

}  // namespace

TEST(SymbolTable, FindsEnclosingSymbol)
{
    auto b = blob(0xffffffff80100000, { { 0, 0x40, "start" }, { 0x40, 0x80, "kernel_main" }, { 0x100, 0x20, "panic" } });
    SymbolTable t(b.data(), b.size());
    ASSERT_TRUE(t.valid());
    SymbolHit hit;
    ASSERT_TRUE(t.lookup(0xffffffff80100044, hit));
    EXPECT_STREQ(hit.name, "kernel_main");
    EXPECT_EQ(hit.address, 0xffffffff80100040u);
    ASSERT_TRUE(t.lookup(0xffffffff80100100, hit));
    EXPECT_STREQ(hit.name, "panic");
    EXPECT_FALSE(t.lookup(0xffffffff800fffff, hit));  // below the first symbol
}

TEST(SymbolTable, RejectsBadBlobs)
{
    auto good = blob(0x1000, { { 0, 16, "a" } });
    EXPECT_FALSE(SymbolTable(nullptr, 0).valid());
    EXPECT_FALSE(SymbolTable(good.data(), 8).valid());  // truncated header
    auto bad_magic = good;
    bad_magic[0] ^= 1;
    EXPECT_FALSE(SymbolTable(bad_magic.data(), bad_magic.size()).valid());
    auto huge_count = good;
    huge_count[4] = 0xFF;
    EXPECT_FALSE(SymbolTable(huge_count.data(), huge_count.size()).valid());
    auto unterminated = good;
    unterminated.back() = 'x';
    EXPECT_FALSE(SymbolTable(unterminated.data(), unterminated.size()).valid());
}

TEST(SymbolTable, AddressPastTheFunctionEndIsNotAttributed)
{
    // A gap: a small unlisted function sits between 0x1000+0x80 and 0x1000+0x100.
    auto b = blob(0x1000, { { 0, 0x80, "listed" }, { 0x100, 0x10, "next" } });
    SymbolTable t(b.data(), b.size());
    SymbolHit hit;
    EXPECT_TRUE(t.lookup(0x1000 + 0x7f, hit));
    EXPECT_STREQ(hit.name, "listed");
    EXPECT_FALSE(t.lookup(0x1000 + 0x80, hit));
    EXPECT_FALSE(t.lookup(0x1000 + 0x110, hit));
    EXPECT_FALSE(t.lookup(0x1000 + (2u << 20), hit));
}
