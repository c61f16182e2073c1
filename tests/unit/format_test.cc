#include "kernel/lib/format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

using exo::format;
using exo::format_to;

// Formats into a roomy buffer and checks the returned length matches.
template<typename... Args>
std::string fmt(const char* f, const Args&... args)
{
    char buf[4096];
    size_t n = format_to(buf, sizeof(buf), f, args...);
    EXPECT_EQ(n, std::strlen(buf));
    return std::string(buf);
}

void append_to_string(void* ctx, const char* s, size_t n)
{
    static_cast<std::string*>(ctx)->append(s, n);
}

TEST(Format, LiteralsAndPercent)
{
    EXPECT_EQ(fmt(""), "");
    EXPECT_EQ(fmt("hello"), "hello");
    EXPECT_EQ(fmt("100%%"), "100%");
    EXPECT_EQ(fmt("%%%%"), "%%");
    EXPECT_EQ(fmt(nullptr), "(null)");
}

TEST(Format, SignedDecimal)
{
    EXPECT_EQ(fmt("%d", 0), "0");
    EXPECT_EQ(fmt("%d", 42), "42");
    EXPECT_EQ(fmt("%d", -42), "-42");
    EXPECT_EQ(fmt("%i", -7), "-7");
    EXPECT_EQ(fmt("%d", INT64_MIN), "-9223372036854775808");
    EXPECT_EQ(fmt("%d", INT64_MAX), "9223372036854775807");
    EXPECT_EQ(fmt("%d", static_cast<int8_t>(-128)), "-128");
    EXPECT_EQ(fmt("%d", static_cast<int16_t>(-32768)), "-32768");
    EXPECT_EQ(fmt("%d", INT32_MIN), "-2147483648");
    EXPECT_EQ(fmt("%d", -1LL), "-1");
    // %d of an unsigned value prints its true value, never a negative number.
    EXPECT_EQ(fmt("%d", UINT64_MAX), "18446744073709551615");
}

TEST(Format, UnsignedDecimal)
{
    EXPECT_EQ(fmt("%u", 0u), "0");
    EXPECT_EQ(fmt("%u", 4000000000u), "4000000000");
    EXPECT_EQ(fmt("%u", UINT64_MAX), "18446744073709551615");
    EXPECT_EQ(fmt("%u", static_cast<uint8_t>(255)), "255");
    // Negative signed through %u: the 64-bit two's complement, as C would do.
    EXPECT_EQ(fmt("%u", -1), "18446744073709551615");
}

TEST(Format, Hex)
{
    EXPECT_EQ(fmt("%x", 0), "0");
    EXPECT_EQ(fmt("%x", 0xdeadbeefu), "deadbeef");
    EXPECT_EQ(fmt("%X", 0xdeadbeefu), "DEADBEEF");
    EXPECT_EQ(fmt("%x", UINT64_MAX), "ffffffffffffffff");
    EXPECT_EQ(fmt("%x", -1), "ffffffffffffffff");
    EXPECT_EQ(fmt("%X", INT64_MIN), "8000000000000000");
    EXPECT_EQ(fmt("%x", static_cast<int8_t>(-2)), "fffffffffffffffe");
    EXPECT_EQ(fmt("%x", 255), "ff");
}

TEST(Format, Pointer)
{
    EXPECT_EQ(fmt("%p", reinterpret_cast<void*>(0x1234)), "0x0000000000001234");
    EXPECT_EQ(fmt("%p", nullptr), "0x0000000000000000");
    EXPECT_EQ(fmt("%p", static_cast<const int*>(nullptr)), "0x0000000000000000");
    EXPECT_EQ(fmt("%p", reinterpret_cast<const volatile uint32_t*>(0xffffffff80000000ull)), "0xffffffff80000000");
    // Integers are accepted as addresses (uintptr_t is the usual currency).
    EXPECT_EQ(fmt("%p", uintptr_t { 0xb8000 }), "0x00000000000b8000");
    // A string's address, not its text.
    const char* s = reinterpret_cast<const char*>(0x1000);
    EXPECT_EQ(fmt("%p", s), "0x0000000000001000");
    int local = 0;
    char expect[32];
    std::snprintf(expect, sizeof(expect), "0x%016llx",
                  static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(&local)));
    EXPECT_EQ(fmt("%p", &local), expect);
    // Function pointers too.
    void (*fn)(void*, const char*, size_t) = &append_to_string;
    EXPECT_EQ(fmt("%p", fn).size(), 18u);
    // Width pads the whole "0x..." field; '0' flag does not change it.
    EXPECT_EQ(fmt("[%20p]", reinterpret_cast<void*>(1)), "[  0x0000000000000001]");
    EXPECT_EQ(fmt("[%-20p]", reinterpret_cast<void*>(1)), "[0x0000000000000001  ]");
    EXPECT_EQ(fmt("[%020p]", reinterpret_cast<void*>(1)), "[  0x0000000000000001]");
}

TEST(Format, Strings)
{
    EXPECT_EQ(fmt("%s", "abc"), "abc");
    const char* cs = "const";
    char mutable_buf[] = "mutable";
    char* ms = mutable_buf;
    EXPECT_EQ(fmt("%s/%s/%s", cs, ms, mutable_buf), "const/mutable/mutable");
    EXPECT_EQ(fmt("%s", static_cast<const char*>(nullptr)), "(null)");
    EXPECT_EQ(fmt("%s", nullptr), "(null)");
    EXPECT_EQ(fmt("%s", ""), "");
    EXPECT_EQ(fmt("%s", true), "true");
    EXPECT_EQ(fmt("%s", false), "false");
}

TEST(Format, UnterminatedCharArrayIsBounded)
{
    struct {
        char name[4];
        char after[4];
    } fixed;
    std::memcpy(fixed.name, "abcd", 4);  // no NUL
    std::memcpy(fixed.after, "XYZ", 4);
    EXPECT_EQ(fmt("[%s]", fixed.name), "[abcd]");
    char shorter[8] = "ab";
    EXPECT_EQ(fmt("[%s]", shorter), "[ab]");
}

TEST(Format, StringSpan)
{
    const char* line = "echo hello world";
    EXPECT_EQ(fmt("[%s]", exo::FormatStr { line + 5, 5 }), "[hello]");
    EXPECT_EQ(fmt("[%8s]", exo::FormatStr { line, 4 }), "[    echo]");
    EXPECT_EQ(fmt("[%s]", exo::FormatStr { line, 0 }), "[]");
    // Stops at an embedded NUL even if the span says more.
    EXPECT_EQ(fmt("[%s]", exo::FormatStr { "ab\0cd", 5 }), "[ab]");
    EXPECT_EQ(fmt("[%s]", exo::FormatStr { nullptr, 3 }), "[(null)]");
}

TEST(Format, Chars)
{
    EXPECT_EQ(fmt("%c", 'A'), "A");
    EXPECT_EQ(fmt("%c", 66), "B");
    EXPECT_EQ(fmt("%c", static_cast<uint8_t>('C')), "C");
    EXPECT_EQ(fmt("%c", 0x141), "A");  // low byte only
    EXPECT_EQ(fmt("[%3c]", 'x'), "[  x]");
    EXPECT_EQ(fmt("[%-3c]", 'x'), "[x  ]");
    // A char's numeric value is its byte, whatever char's signedness.
    EXPECT_EQ(fmt("%d", 'A'), "65");
    EXPECT_EQ(fmt("%u", '\xff'), "255");
    EXPECT_EQ(fmt("%x", '\xff'), "ff");
    // %c of NUL writes one NUL byte into the output.
    std::string out;
    exo::Sink sink { &append_to_string, &out };
    EXPECT_EQ(format(sink, "a%cb", '\0'), 3u);
    EXPECT_EQ(out, std::string("a\0b", 3));
}

TEST(Format, BoolsAndEnums)
{
    EXPECT_EQ(fmt("%d %u %x", true, false, true), "1 0 1");
    enum class Color : uint8_t { Red = 2, Blue = 200 };
    enum Signed : int { Neg = -5 };
    EXPECT_EQ(fmt("%d %u", Color::Red, Color::Blue), "2 200");
    EXPECT_EQ(fmt("%d", Neg), "-5");
}

TEST(Format, WidthPaddingAlignment)
{
    EXPECT_EQ(fmt("[%5d]", 42), "[   42]");
    EXPECT_EQ(fmt("[%-5d]", 42), "[42   ]");
    EXPECT_EQ(fmt("[%05d]", 42), "[00042]");
    EXPECT_EQ(fmt("[%05d]", -42), "[-0042]");
    EXPECT_EQ(fmt("[%5d]", -42), "[  -42]");
    EXPECT_EQ(fmt("[%-05d]", -42), "[-42  ]");  // '-' overrides '0'
    EXPECT_EQ(fmt("[%0-5d]", 7), "[7    ]");
    EXPECT_EQ(fmt("[%08x]", 0xbeefu), "[0000beef]");
    EXPECT_EQ(fmt("[%-8X]", 0xbeefu), "[BEEF    ]");
    EXPECT_EQ(fmt("[%2d]", 12345), "[12345]");  // width is a minimum
    EXPECT_EQ(fmt("[%0d]", 5), "[5]");
    EXPECT_EQ(fmt("[%020u]", UINT64_MAX), "[18446744073709551615]");
    EXPECT_EQ(fmt("[%020d]", INT64_MIN), "[-9223372036854775808]");
    EXPECT_EQ(fmt("[%021d]", INT64_MIN), "[-09223372036854775808]");
    EXPECT_EQ(fmt("[%6s]", "ab"), "[    ab]");
    EXPECT_EQ(fmt("[%-6s]", "ab"), "[ab    ]");
    EXPECT_EQ(fmt("[%06s]", "ab"), "[    ab]");  // zero pad is for numbers only
    EXPECT_EQ(fmt("[%8s]", static_cast<const char*>(nullptr)), "[  (null)]");
    EXPECT_EQ(fmt("[%40d]", 1), "[" + std::string(39, ' ') + "1]");
}

TEST(Format, HugeWidthIsClamped)
{
    std::string s = fmt("%99999999999999999999999d", 1);
    EXPECT_EQ(s.size(), 1024u);
    EXPECT_EQ(s.back(), '1');
}

TEST(Format, LengthModifiersIgnored)
{
    EXPECT_EQ(fmt("%ld %lld %zu %lu %llx", 1L, -2LL, size_t { 3 }, 4UL, 0xabULL), "1 -2 3 4 ab");
    EXPECT_EQ(fmt("%hhd %hd %jd %td", 1, 2, 3, 4), "1 2 3 4");
    // The argument's real type wins over the modifier.
    EXPECT_EQ(fmt("%hhu", 1000), "1000");
    EXPECT_EQ(fmt("%-8lx|", 0x10L), "10      |");
    EXPECT_EQ(fmt("%08lld", -5LL), "-0000005");
}

TEST(Format, TypeMismatchPrintsMarkerAndConsumesArgument)
{
    EXPECT_EQ(fmt("%s", 5), "<!>");
    EXPECT_EQ(fmt("%d", "str"), "<!>");
    EXPECT_EQ(fmt("%u", "str"), "<!>");
    EXPECT_EQ(fmt("%x", reinterpret_cast<void*>(16)), "<!>");
    EXPECT_EQ(fmt("%c", "s"), "<!>");
    EXPECT_EQ(fmt("%c", true), "<!>");
    EXPECT_EQ(fmt("%p", 'c'), "<!>");
    EXPECT_EQ(fmt("%p", false), "<!>");
    EXPECT_EQ(fmt("%s", reinterpret_cast<int*>(8)), "<!>");
    EXPECT_EQ(fmt("%s", 'c'), "<!>");
    // The mismatched argument is used up, so later ones stay aligned.
    EXPECT_EQ(fmt("%s %d", 5, 6), "<!> 6");
    // Width does not apply to the marker.
    EXPECT_EQ(fmt("[%10s]", 5), "[<!>]");
}

TEST(Format, TooFewArguments)
{
    EXPECT_EQ(fmt("%d"), "<?>");
    EXPECT_EQ(fmt("%d %d", 1), "1 <?>");
    EXPECT_EQ(fmt("%s|%p|%c", "a"), "a|<?>|<?>");
    EXPECT_EQ(fmt("%%%d"), "%<?>");
}

TEST(Format, UnknownConversionAndTrailingPercent)
{
    EXPECT_EQ(fmt("%q"), "<%?>");
    // An unknown conversion does not consume an argument.
    EXPECT_EQ(fmt("%q %d", 7), "<%?> 7");
    EXPECT_EQ(fmt("abc%"), "abc<%?>");
    EXPECT_EQ(fmt("abc%5"), "abc<%?>");
    EXPECT_EQ(fmt("abc%-0l"), "abc<%?>");
    // Precision is not supported: '.' is the unknown conversion, the rest is text.
    EXPECT_EQ(fmt("%.3s", "abcdef"), "<%?>3s");
    EXPECT_EQ(fmt("%f", 1), "<%?>");
}

TEST(Format, ExtraArgumentsIgnored)
{
    EXPECT_EQ(fmt("x", 1, 2, "three"), "x");
    EXPECT_EQ(fmt("%d", 1, 2), "1");
}

TEST(Format, MixedLine)
{
    EXPECT_EQ(fmt("[%8s] %-6s %5u KiB at %p (%d%%)", "heap", "ok", 640u, reinterpret_cast<void*>(0xffff800000000000),
                  -3),
              "[    heap] ok       640 KiB at 0xffff800000000000 (-3%)");
}

TEST(FormatTo, CapZeroWritesNothingAndReportsLength)
{
    EXPECT_EQ(format_to(nullptr, 0, "hello %d", 42), 8u);
    char guard = '#';
    EXPECT_EQ(format_to(&guard, 0, "hello"), 5u);
    EXPECT_EQ(guard, '#');
    // A null buffer with a nonzero cap is treated as no room at all.
    EXPECT_EQ(format_to(nullptr, 16, "abc"), 3u);
}

TEST(FormatTo, CapOneGivesEmptyString)
{
    char buf[2] = { 'x', '#' };
    EXPECT_EQ(format_to(buf, 1, "hello %s", "world"), 11u);
    EXPECT_EQ(buf[0], '\0');
    EXPECT_EQ(buf[1], '#');
}

TEST(FormatTo, ExactFitAndOneShort)
{
    char buf[8];
    std::memset(buf, '#', sizeof(buf));
    EXPECT_EQ(format_to(buf, 6, "%s", "hello"), 5u);  // 5 chars + NUL
    EXPECT_STREQ(buf, "hello");
    EXPECT_EQ(buf[6], '#');

    std::memset(buf, '#', sizeof(buf));
    EXPECT_EQ(format_to(buf, 5, "%s", "hello"), 5u);
    EXPECT_STREQ(buf, "hell");
    EXPECT_EQ(buf[5], '#');
}

TEST(FormatTo, TruncatesAcrossManyPiecesWithoutOverflow)
{
    for (size_t cap = 0; cap < 40; ++cap) {
        char buf[64];
        std::memset(buf, '#', sizeof(buf));
        size_t n = format_to(buf, cap, "%-10d|%08x|%s|%20p", -5, 0xabcu, "text", reinterpret_cast<void*>(1));
        const std::string full = "-5        |00000abc|text|  0x0000000000000001";
        EXPECT_EQ(n, full.size());
        for (size_t i = cap; i < sizeof(buf); ++i)
            ASSERT_EQ(buf[i], '#') << "cap " << cap << " wrote at " << i;
        if (cap > 0) {
            EXPECT_EQ(std::string(buf), full.substr(0, cap - 1));
        }
    }
}

TEST(BufferSink, AccumulatesAcrossCallsAndReportsTruncation)
{
    char buf[8];
    exo::BufferSink out(buf, sizeof(buf));
    EXPECT_STREQ(buf, "");  // terminated from the start
    format(out.sink(), "ab");
    format(out.sink(), "%d", 123);
    EXPECT_STREQ(buf, "ab123");
    EXPECT_FALSE(out.truncated());
    EXPECT_EQ(out.stored(), 5u);
    format(out.sink(), "%s", "wxyz");
    EXPECT_STREQ(buf, "ab123wx");
    EXPECT_TRUE(out.truncated());
    EXPECT_EQ(out.stored(), 7u);
    EXPECT_EQ(out.length(), 9u);
}

TEST(Sink, CustomSinkGetsEveryCharAndCountMatches)
{
    std::string out;
    exo::Sink sink { &append_to_string, &out };
    size_t n = format(sink, "%5d|%s|%c", 12, "ab", 'z');
    EXPECT_EQ(out, "   12|ab|z");
    EXPECT_EQ(n, out.size());
}

TEST(Sink, NullPutCountsOnly)
{
    exo::Sink counter {};
    EXPECT_EQ(format(counter, "%020d and %s", 1, "more"), 29u);
}

TEST(FormatArg, IsSmallAndPassesThrough)
{
    static_assert(sizeof(exo::FormatArg) == 13);  // packed: an array of them needs no 16-byte alignment
    exo::FormatArg pre { exo::FormatKind::Signed, 0, {} };
    pre.i = -9;
    EXPECT_EQ(fmt("%d", pre), "-9");
    // The non-template core is usable directly.
    exo::FormatArg list[] = { { exo::FormatKind::String, exo::FormatArg::kUnbounded, {} },
                              { exo::FormatKind::Unsigned, 0, {} } };
    list[0].s = "x";
    list[1].u = 3;
    char buf[16];
    EXPECT_EQ(exo::format_to_impl(buf, sizeof(buf), "%s=%u", list, 2), 3u);
    EXPECT_STREQ(buf, "x=3");
    // Null args with a nonzero count are treated as no args.
    EXPECT_EQ(exo::format_to_impl(buf, sizeof(buf), "%d", nullptr, 5), 3u);
    EXPECT_STREQ(buf, "<?>");
}

// The call-site encoding: a 5-bit count, then 3 bits of kind per argument.
TEST(FormatSig, PacksCountThenOneKindPerArgument)
{
    using exo::FormatWordKind;
    using exo::detail::signature;
    static_assert(signature<>() == 0);
    constexpr auto k = [](FormatWordKind kind) { return static_cast<uint64_t>(kind); };
    static_assert(signature<int, unsigned, const char*>() ==
                  (3 | k(FormatWordKind::Signed) << 5 | k(FormatWordKind::Unsigned) << 8 |
                   k(FormatWordKind::String) << 11));
    static_assert(signature<char (&)[4], bool, char, void*, exo::FormatStr>() ==
                  (5 | k(FormatWordKind::Span) << 5 | k(FormatWordKind::Bool) << 8 | k(FormatWordKind::Char) << 11 |
                   k(FormatWordKind::Pointer) << 14 | k(FormatWordKind::Span) << 17));
    enum class Small : int8_t { Minus = -1 };
    static_assert(signature<Small>() == (1 | k(FormatWordKind::Signed) << 5));
}

TEST(FormatSig, NineteenArgumentsRoundTrip)
{
    EXPECT_EQ(fmt("%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%d", 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, -9),
        "123456789012345678-9");
    char unterminated[3] = { 'a', 'b', 'c' };
    EXPECT_EQ(fmt("%s|%s|%c|%s", unterminated, exo::FormatStr { "hello", 2 }, 'z', true), "abc|he|z|true");
    EXPECT_EQ(fmt("%d %u %x", int8_t { -1 }, uint16_t { 65535 }, int64_t { -1 }), "-1 65535 ffffffffffffffff");
}

}  // namespace
