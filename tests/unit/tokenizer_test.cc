#include "shell/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace exo;

namespace {

std::vector<std::string> words(const Tokens& t)
{
    std::vector<std::string> out;
    for (int i = 0; i < t.argc(); ++i)
        out.emplace_back(t.argv()[i]);
    EXPECT_EQ(t.argv()[t.argc()], nullptr);
    return out;
}

Result<void> parse(Tokens& t, const std::string& line) { return t.parse(line.data(), line.size()); }

using W = std::vector<std::string>;

}  // namespace

TEST(Tokenizer, SplitsOnBlanks)
{
    Tokens t;
    ASSERT_TRUE(parse(t, "pages 0x1000").ok());
    EXPECT_EQ(words(t), (W { "pages", "0x1000" }));
    ASSERT_TRUE(parse(t, "  \t mem \t --json   ").ok());
    EXPECT_EQ(words(t), (W { "mem", "--json" }));
    EXPECT_STREQ(t[0], "mem");
    EXPECT_EQ(t[2], nullptr);
}

TEST(Tokenizer, EmptyAndBlankLines)
{
    Tokens t;
    ASSERT_TRUE(parse(t, "").ok());
    EXPECT_EQ(t.argc(), 0);
    EXPECT_EQ(t.argv()[0], nullptr);
    ASSERT_TRUE(parse(t, " \t  ").ok());
    EXPECT_EQ(t.argc(), 0);
}

TEST(Tokenizer, DoesNotReadPastLength)
{
    Tokens t;
    const char line[] = "help mem";
    ASSERT_TRUE(t.parse(line, 4).ok());
    EXPECT_EQ(words(t), (W { "help" }));
}

TEST(Tokenizer, DoubleQuotesGroupAndEscape)
{
    Tokens t;
    ASSERT_TRUE(parse(t, R"(echo "a b"  "say \"hi\"" "back\\slash")").ok());
    EXPECT_EQ(words(t), (W { "echo", "a b", "say \"hi\"", "back\\slash" }));
    // \" before the closing quote escapes it: the quote never closes.
    EXPECT_EQ(parse(t, R"("end\")").error(), Error::InvalidArgument);
    // Other backslashes stay as they are.
    ASSERT_TRUE(parse(t, R"("a\nb" "\x")").ok());
    EXPECT_EQ(words(t), (W { "a\\nb", "\\x" }));
}

TEST(Tokenizer, SingleQuotesAreLiteral)
{
    Tokens t;
    ASSERT_TRUE(parse(t, R"('a "b" \\ c' x)").ok());
    EXPECT_EQ(words(t), (W { "a \"b\" \\\\ c", "x" }));
}

TEST(Tokenizer, BackslashOutsideQuotesIsLiteral)
{
    Tokens t;
    ASSERT_TRUE(parse(t, R"(a\ b)").ok());
    EXPECT_EQ(words(t), (W { "a\\", "b" }));
}

TEST(Tokenizer, AdjacentPiecesJoin)
{
    Tokens t;
    ASSERT_TRUE(parse(t, R"(a"b c"d'e f'g)").ok());
    EXPECT_EQ(words(t), (W { "ab cde fg" }));
}

TEST(Tokenizer, EmptyQuotesMakeEmptyWords)
{
    Tokens t;
    ASSERT_TRUE(parse(t, R"(x "" '' y)").ok());
    EXPECT_EQ(words(t), (W { "x", "", "", "y" }));
}

TEST(Tokenizer, UnterminatedQuoteIsInvalid)
{
    Tokens t;
    for (const char* line : { "echo \"abc", "echo 'abc", "\"", "'", "a \"b\\\"" }) {
        auto r = parse(t, line);
        ASSERT_FALSE(r.ok()) << line;
        EXPECT_EQ(r.error(), Error::InvalidArgument) << line;
        EXPECT_EQ(t.argc(), 0);
        EXPECT_EQ(t.argv()[0], nullptr);
    }
}

TEST(Tokenizer, SixteenArgsFitSeventeenDoNot)
{
    Tokens t;
    std::string line;
    for (int i = 0; i < 16; ++i)
        line += "a" + std::to_string(i) + " ";
    ASSERT_TRUE(parse(t, line).ok());
    EXPECT_EQ(t.argc(), 16);
    EXPECT_STREQ(t[15], "a15");
    auto r = parse(t, line + "extra");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::TooLong);
    EXPECT_EQ(t.argc(), 0);
    // Trailing blanks after the 16th word are fine.
    ASSERT_TRUE(parse(t, line + "   ").ok());
}

TEST(Tokenizer, LengthLimit)
{
    Tokens t;
    std::string longest(Tokens::kMaxLineLength, 'x');
    ASSERT_TRUE(parse(t, longest).ok());
    EXPECT_EQ(std::string(t[0]), longest);
    auto r = parse(t, longest + "x");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::TooLong);
    // Worst case for storage: words of empty quotes.
    std::string quotes;
    for (int i = 0; i < 16; ++i)
        quotes += "\"\" ";
    ASSERT_TRUE(parse(t, quotes).ok());
    EXPECT_EQ(t.argc(), 16);
    // A quoted word as long as the line.
    std::string quoted = "\"" + std::string(Tokens::kMaxLineLength - 2, ' ') + "\"";
    ASSERT_TRUE(parse(t, quoted).ok());
    EXPECT_EQ(std::string(t[0]).size(), Tokens::kMaxLineLength - 2);
}

TEST(Tokenizer, ReparseReplacesContents)
{
    Tokens t;
    ASSERT_TRUE(parse(t, "a b c").ok());
    ASSERT_TRUE(parse(t, "d").ok());
    EXPECT_EQ(words(t), (W { "d" }));
}

TEST(ParseU64, Decimal)
{
    EXPECT_EQ(parse_u64("0").value(), 0u);
    EXPECT_EQ(parse_u64("42").value(), 42u);
    EXPECT_EQ(parse_u64("007").value(), 7u);
    EXPECT_EQ(parse_u64("18446744073709551615").value(), UINT64_MAX);
    auto r = parse_u64("18446744073709551616");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::TooLong);
    EXPECT_EQ(parse_u64("99999999999999999999").error(), Error::TooLong);
}

TEST(ParseU64, Hex)
{
    EXPECT_EQ(parse_u64("0x0").value(), 0u);
    EXPECT_EQ(parse_u64("0x1F").value(), 0x1Fu);
    EXPECT_EQ(parse_u64("0XdeadBEEF").value(), 0xdeadbeefu);
    EXPECT_EQ(parse_u64("0xffffffffffffffff").value(), UINT64_MAX);
    EXPECT_EQ(parse_u64("0x0000000000000000001").value(), 1u);
    EXPECT_EQ(parse_u64("0x10000000000000000").error(), Error::TooLong);
}

TEST(ParseU64, Malformed)
{
    for (const char* text : { "", "0x", "0X", "12a", "-1", "+1", " 1", "1 ", "0xg", "x10", "1e3", "0b101" })
        EXPECT_EQ(parse_u64(text).error(), Error::InvalidArgument) << text;
    EXPECT_EQ(parse_u64(nullptr).error(), Error::InvalidArgument);
}
