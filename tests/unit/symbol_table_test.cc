#include "kernel/debug/symbol_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

using exo::SymbolHit;
using exo::SymbolTable;

namespace {

struct Fn {
    uint64_t start, end;
    std::string name;
};

constexpr const char* kChars = "_abcdefghijklmnopqrstuvwxyz";

// A blob in the format of kernel/debug/symbol_table.h, built by hand: the
// real generator (cmake/gen_ksyms.py) made the fixture the tests below use.
// Names and pairs are written as text: ' ' and '!' stand for the end markers
// (codes 0 and 1), a character of `chars` for its code, any other byte for
// itself (token i is code 2 + i).
struct Builder {
    explicit Builder(uint32_t base, const std::string& pairs = "", std::string chars = kChars)
        : chars(std::move(chars))
        , tokens(pairs.size() / 2)
    {
        bytes.resize(4);
        std::memcpy(bytes.data(), &base, 4);
        bytes.push_back(static_cast<uint8_t>(tokens));
        bytes.push_back(static_cast<uint8_t>(this->chars.size()));
        codes(pairs);
        bytes.insert(bytes.end(), this->chars.begin(), this->chars.end());
    }
    Builder& size(uint64_t v)
    {
        std::vector<uint8_t> digits { static_cast<uint8_t>(v % 224) };
        for (v /= 224; v; v /= 32)
            digits.insert(digits.begin(), static_cast<uint8_t>(224 + v % 32));
        bytes.insert(bytes.end(), digits.begin(), digits.end());
        return *this;
    }
    void codes(const std::string& text)
    {
        for (char c : text) {
            size_t i = chars.find(c);
            if (c == ' ' || c == '!')
                bytes.push_back(c == '!');
            else if (i != std::string::npos)
                bytes.push_back(static_cast<uint8_t>(2 + tokens + i));
            else
                bytes.push_back(static_cast<uint8_t>(c));
        }
    }
    // name: its end marker included.
    Builder& entry(uint64_t n, const std::string& name)
    {
        size(n);
        codes(name);
        return *this;
    }
    std::string chars;
    size_t tokens;
    std::vector<uint8_t> bytes;
};

// Looks addr up in an exactly sized heap copy, so ASan sees any read past the blob.
bool lookup(const std::vector<uint8_t>& blob, size_t len, uint64_t addr, SymbolHit& hit)
{
    std::unique_ptr<uint8_t[]> copy(new uint8_t[len ? len : 1]);
    if (len)
        std::memcpy(copy.get(), blob.data(), len);
    return SymbolTable(copy.get(), len).lookup(addr, hit);
}

std::vector<uint8_t> read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return { std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>() };
}

std::vector<Fn> read_functions(const std::string& path)
{
    std::vector<Fn> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        char name[128];
        unsigned long long s, e;
        if (std::sscanf(line.c_str(), "%llx %llx %127s", &s, &e, name) == 3)
            out.push_back({ s, e, name });
    }
    return out;
}

class SymbolTableFixture : public ::testing::Test {
protected:
    void SetUp() override
    {
        blob = read_file(EXO_FIXTURE_DIR "/ksyms/ksyms.bin");
        fns = read_functions(EXO_FIXTURE_DIR "/ksyms/functions.txt");
        ASSERT_GT(blob.size(), 100u);
        ASSERT_GT(fns.size(), 300u);
    }
    std::vector<uint8_t> blob;
    std::vector<Fn> fns;
};

}  // namespace

TEST(SymbolTable, FindsEnclosingFunction)
{
    auto b = Builder(0x80100000).entry(0x40, "start ").entry(0x80, "kernel_main ").entry(0x20, "panic ").bytes;
    SymbolTable t(b.data(), b.size());
    ASSERT_TRUE(t.valid());
    SymbolHit hit;
    ASSERT_TRUE(t.lookup(0xffffffff80100044, hit));  // the base is sign-extended
    EXPECT_STREQ(hit.name, "kernel_main");
    EXPECT_EQ(hit.address, 0xffffffff80100040u);
    ASSERT_TRUE(t.lookup(0xffffffff80100000, hit));
    EXPECT_STREQ(hit.name, "start");
    ASSERT_TRUE(t.lookup(0xffffffff801000df, hit));
    EXPECT_STREQ(hit.name, "panic");
    EXPECT_FALSE(t.lookup(0xffffffff800fffff, hit));  // before the first function
    EXPECT_FALSE(t.lookup(0xffffffff801000e0, hit));  // past the last one
    EXPECT_FALSE(t.lookup(0x80100044, hit));
}

TEST(SymbolTable, FindsAFunctionByName)
{
    auto b = Builder(0x80100000).entry(0x40, "start ").entry(0x10, " ").entry(0x80, "kernel_main ")
                 .entry(0x20, "panic!").entry(0x8, "kernel_main ").bytes;
    SymbolTable t(b.data(), b.size());
    SymbolHit hit;
    ASSERT_TRUE(t.lookup_name("kernel_main", hit));
    EXPECT_EQ(hit.address, 0xffffffff80100050u);  // the first of the two, after the padding
    EXPECT_STREQ(hit.name, "kernel_main");
    ASSERT_TRUE(t.lookup_name("panic", hit));
    EXPECT_EQ(hit.address, 0xffffffff801000d0u);
    ASSERT_TRUE(t.lookup_name("start", hit));
    EXPECT_EQ(hit.address, 0xffffffff80100000u);
    EXPECT_FALSE(t.lookup_name("", hit));  // padding has no name to find
    EXPECT_FALSE(t.lookup_name("kernel", hit));  // a prefix is not the name
    EXPECT_FALSE(t.lookup_name("kernel_main2", hit));
    EXPECT_FALSE(SymbolTable().lookup_name("start", hit));
}

TEST(SymbolTable, PaddingIsNotAttributed)
{
    // "a!" : one byte of padding after a; an empty name: 0x10 bytes of padding.
    auto b = Builder(0x1000).entry(0x7f, "a!").entry(0x10, "b ").entry(0x10, " ").entry(0x8, "c ").bytes;
    SymbolTable t(b.data(), b.size());
    SymbolHit hit;
    ASSERT_TRUE(t.lookup(0x1000 + 0x7e, hit));
    EXPECT_STREQ(hit.name, "a");
    EXPECT_FALSE(t.lookup(0x1000 + 0x7f, hit));
    ASSERT_TRUE(t.lookup(0x1080, hit));
    EXPECT_STREQ(hit.name, "b");
    EXPECT_EQ(hit.address, 0x1080u);
    EXPECT_FALSE(t.lookup(0x1090, hit));
    EXPECT_FALSE(t.lookup(0x109f, hit));
    ASSERT_TRUE(t.lookup(0x10a7, hit));
    EXPECT_STREQ(hit.name, "c");
    EXPECT_FALSE(t.lookup(0x10a8, hit));
}

TEST(SymbolTable, MultiDigitSizes)
{
    auto b = Builder(0x10000).entry(223, "x ").entry(224, "y ").entry(7167, "z ").entry(70000, "w ").entry(1, "v ").bytes;
    SymbolTable t(b.data(), b.size());
    SymbolHit hit;
    uint64_t a = 0x10000;
    for (auto [size, name] : std::vector<std::pair<uint64_t, const char*>> {
             { 223, "x" }, { 224, "y" }, { 7167, "z" }, { 70000, "w" }, { 1, "v" } }) {
        ASSERT_TRUE(t.lookup(a + size - 1, hit)) << name;
        EXPECT_STREQ(hit.name, name);
        EXPECT_EQ(hit.address, a);
        a += size;
    }
    EXPECT_FALSE(t.lookup(a, hit));
}

TEST(SymbolTable, ExpandsNestedTokens)
{
    // Token 0 (code 2) = "re", token 1 (3) = token 0 + "a", token 2 (4) = "d"
    // + end marker, token 3 (5) = token 1 + token 2: "read ".
    auto b = Builder(0x2000, "re\x02" "ad \x03\x04")
                 .entry(0x10, "\x05")
                 .entry(0x10, "\x02\x04")
                 .entry(0x10, "t\x02\x03\x04")
                 .bytes;
    SymbolTable t(b.data(), b.size());
    SymbolHit hit;
    ASSERT_TRUE(t.lookup(0x2000, hit));
    EXPECT_STREQ(hit.name, "read");
    ASSERT_TRUE(t.lookup(0x2010, hit));
    EXPECT_STREQ(hit.name, "red");
    ASSERT_TRUE(t.lookup(0x2020, hit));
    EXPECT_STREQ(hit.name, "treread");
    EXPECT_FALSE(t.lookup(0x2030, hit));
}

TEST(SymbolTable, RejectsBadBlobs)
{
    auto good = Builder(0x1000).entry(16, "a ").bytes;
    SymbolHit hit;
    EXPECT_FALSE(SymbolTable(nullptr, 0).valid());
    EXPECT_FALSE(SymbolTable(good.data(), 0).valid());  // the first link stage's empty table
    EXPECT_FALSE(SymbolTable(good.data(), 5).valid());  // truncated header
    EXPECT_FALSE(SymbolTable().lookup(0x1000, hit));
    auto many_codes = good;
    many_codes[4] = 256 - 2 - 27 + 1;  // tokens and characters need more than 256 codes
    EXPECT_FALSE(SymbolTable(many_codes.data(), many_codes.size()).valid());
    auto short_tables = good;
    short_tables[4] = 2;  // 4 pair bytes and 27 characters announced, 30 bytes present
    ASSERT_EQ(short_tables.size(), 6u + 27 + 3);
    EXPECT_FALSE(SymbolTable(short_tables.data(), short_tables.size()).valid());
    EXPECT_TRUE(SymbolTable(good.data(), good.size()).valid());
}

TEST(SymbolTable, CorruptNamesStopTheLookup)
{
    SymbolHit hit;
    // A token that contains itself: the expansion stack overflows, no endless loop.
    auto loop = Builder(0x1000, "\x02\x02").entry(16, "\x02").bytes;
    EXPECT_FALSE(lookup(loop, loop.size(), 0x1000, hit));
    // Tokens that double at each level: 2^227 characters, stopped at the name
    // limit. Token 0 is "aa", token i the pair (code of token i - 1) twice.
    constexpr size_t kAllTokens = 256 - 2 - 27;
    auto bomb = Builder(0x1000, std::string(2 * kAllTokens, 'a')).size(16).bytes;
    for (size_t i = 1; i < kAllTokens; ++i)
        bomb[6 + 2 * i] = bomb[7 + 2 * i] = static_cast<uint8_t>(2 + i - 1);
    bomb.push_back(static_cast<uint8_t>(2 + kAllTokens - 1));
    EXPECT_FALSE(lookup(bomb, bomb.size(), 0x1000, hit));
    // A name longer than the limit.
    auto longname = Builder(0x1000).entry(16, std::string(exo::kSymbolNameMax + 1, 'x') + " ").bytes;
    EXPECT_FALSE(lookup(longname, longname.size(), 0x1000, hit));
    auto longest = Builder(0x1000).entry(16, std::string(exo::kSymbolNameMax, 'x') + " ").bytes;
    ASSERT_TRUE(lookup(longest, longest.size(), 0x1000, hit));
    EXPECT_EQ(std::strlen(hit.name), exo::kSymbolNameMax);
    // Characters the generator never writes (control bytes, NUL, high bytes).
    for (char bad : { '\0', '\x01', '\x1f', '\x7f', '\xff' }) {
        auto garbage = Builder(0x1000, "", std::string("ab") + bad).entry(16, std::string("ab") + bad + " ").bytes;
        EXPECT_FALSE(lookup(garbage, garbage.size(), 0x1000, hit)) << int(bad);
    }
    // A code that is neither an end, a token nor a character.
    auto unknown = Builder(0x1000).entry(16, "ab\xf0 ").bytes;
    EXPECT_FALSE(lookup(unknown, unknown.size(), 0x1000, hit));
    // A name without its end marker, and a size without its last digit.
    auto unterminated = Builder(0x1000).entry(16, "abc").bytes;
    EXPECT_FALSE(lookup(unterminated, unterminated.size(), 0x1000, hit));
    auto open_size = Builder(0x1000).bytes;
    open_size.push_back(0xE1);
    EXPECT_FALSE(lookup(open_size, open_size.size(), 0x1000, hit));
}

TEST_F(SymbolTableFixture, EveryFunctionOfARealKernelRoundTrips)
{
    SymbolTable t(blob.data(), blob.size());
    ASSERT_TRUE(t.valid());
    SymbolHit hit;
    size_t padding = 0;
    for (size_t i = 0; i < fns.size(); ++i) {
        const Fn& f = fns[i];
        for (uint64_t a : { f.start, f.start + (f.end - f.start) / 2, f.end - 1 }) {
            ASSERT_TRUE(t.lookup(a, hit)) << std::hex << a << " in " << f.name;
            EXPECT_STREQ(hit.name, f.name.c_str());
            EXPECT_EQ(hit.address, f.start);
        }
        uint64_t next = i + 1 < fns.size() ? fns[i + 1].start : ~0ull;
        for (uint64_t a = f.end; a < next && a < f.end + 32; ++a, ++padding)
            EXPECT_FALSE(t.lookup(a, hit)) << std::hex << a << " is padding after " << f.name;
    }
    EXPECT_GT(padding, 0u);  // the fixture has padding to test
    EXPECT_FALSE(t.lookup(fns.front().start - 1, hit));
    EXPECT_FALSE(t.lookup(0, hit));
    EXPECT_FALSE(t.lookup(~0ull, hit));
}

TEST_F(SymbolTableFixture, EveryNameOfARealKernelFindsItsFirstFunction)
{
    SymbolTable t(blob.data(), blob.size());
    SymbolHit hit;
    for (const Fn& f : fns) {
        ASSERT_TRUE(t.lookup_name(f.name.c_str(), hit)) << f.name;
        const Fn& first = *std::find_if(fns.begin(), fns.end(), [&](const Fn& g) { return g.name == f.name; });
        EXPECT_EQ(hit.address, first.start) << f.name;
    }
}

TEST_F(SymbolTableFixture, EveryFunctionSmallOnesIncluded)
{
    // The table no longer leaves out small functions: 1..127-byte ones resolve too.
    SymbolTable t(blob.data(), blob.size());
    SymbolHit hit;
    size_t small = 0;
    for (const Fn& f : fns)
        if (f.end - f.start < 128) {
            ++small;
            ASSERT_TRUE(t.lookup(f.start, hit)) << f.name;
            EXPECT_STREQ(hit.name, f.name.c_str());
        }
    EXPECT_GT(small, 100u);
}

TEST_F(SymbolTableFixture, EveryPrefixIsSafeAndNeverWrong)
{
    // A truncated blob may lose functions but never names one wrongly.
    std::vector<size_t> probes { 0, 1, fns.size() / 3, fns.size() / 2, fns.size() - 2, fns.size() - 1 };
    for (size_t len = 0; len <= blob.size(); ++len) {
        for (size_t i : probes) {
            SymbolHit hit;
            if (lookup(blob, len, fns[i].end - 1, hit)) {
                ASSERT_STREQ(hit.name, fns[i].name.c_str()) << "prefix " << len;
                ASSERT_EQ(hit.address, fns[i].start);
            }
        }
        SymbolHit hit;
        if (len == blob.size()) {
            EXPECT_TRUE(lookup(blob, len, fns.back().start, hit));
        }
    }
}

TEST_F(SymbolTableFixture, RandomCorruptionNeverReadsOutOfBounds)
{
    std::mt19937 rng(1234);
    for (int round = 0; round < 3000; ++round) {
        auto b = blob;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            size_t at = rng() % b.size();
            if (rng() % 2)
                b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
            else
                b[at] = static_cast<uint8_t>(rng());
        }
        size_t len = rng() % 4 ? b.size() : rng() % (b.size() + 1);
        const Fn& f = fns[rng() % fns.size()];
        uint64_t addr = f.start + rng() % (f.end - f.start + 8);
        SymbolHit hit;
        if (lookup(b, len, addr, hit)) {
            ASSERT_LE(std::strlen(hit.name), exo::kSymbolNameMax);
            ASSERT_LE(hit.address, addr);
        }
    }
}
