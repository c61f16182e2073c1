#include "shell/json_writer.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>

using namespace exo;

namespace {

void append(void* ctx, const char* data, size_t length)
{
    static_cast<std::string*>(ctx)->append(data, length);
}

struct Fixture {
    std::string text;
    Output out { append, &text };
    JsonWriter json { out };
};

// A strict RFC 8259 recogniser (no floats needed): true when `s` is exactly
// one JSON value with optional surrounding whitespace.
class Validator {
public:
    explicit Validator(const std::string& s) : m_s(s) {}

    bool valid()
    {
        skip();
        if (!value())
            return false;
        skip();
        return m_i == m_s.size();
    }

private:
    void skip()
    {
        while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\r' || m_s[m_i] == '\n'))
            ++m_i;
    }
    bool literal(const char* word)
    {
        std::string w(word);
        if (m_s.compare(m_i, w.size(), w) != 0)
            return false;
        m_i += w.size();
        return true;
    }
    bool string()
    {
        if (m_s[m_i] != '"')
            return false;
        for (++m_i; m_i < m_s.size(); ++m_i) {
            unsigned char c = static_cast<unsigned char>(m_s[m_i]);
            if (c == '"') {
                ++m_i;
                return true;
            }
            if (c < 0x20)
                return false;
            if (c == '\\') {
                ++m_i;
                if (m_i >= m_s.size())
                    return false;
                char e = m_s[m_i];
                if (e == 'u') {
                    for (int k = 0; k < 4; ++k) {
                        ++m_i;
                        if (m_i >= m_s.size() || !isxdigit(static_cast<unsigned char>(m_s[m_i])))
                            return false;
                    }
                } else if (std::string("\"\\/bfnrt").find(e) == std::string::npos) {
                    return false;
                }
            }
        }
        return false;
    }
    bool number()
    {
        size_t start = m_i;
        if (m_s[m_i] == '-')
            ++m_i;
        if (m_i >= m_s.size() || !isdigit(static_cast<unsigned char>(m_s[m_i])))
            return false;
        if (m_s[m_i] == '0') {
            ++m_i;
        } else {
            while (m_i < m_s.size() && isdigit(static_cast<unsigned char>(m_s[m_i])))
                ++m_i;
        }
        return m_i > start;
    }
    bool value()
    {
        if (m_i >= m_s.size() || ++m_depth > 64)
            return false;
        bool ok;
        char c = m_s[m_i];
        if (c == '{')
            ok = container('}', true);
        else if (c == '[')
            ok = container(']', false);
        else if (c == '"')
            ok = string();
        else if (c == 't')
            ok = literal("true");
        else if (c == 'f')
            ok = literal("false");
        else if (c == 'n')
            ok = literal("null");
        else
            ok = number();
        --m_depth;
        return ok;
    }
    bool container(char close, bool object)
    {
        ++m_i;
        skip();
        if (m_i < m_s.size() && m_s[m_i] == close) {
            ++m_i;
            return true;
        }
        while (true) {
            skip();
            if (object) {
                if (m_i >= m_s.size() || !string())
                    return false;
                skip();
                if (m_i >= m_s.size() || m_s[m_i] != ':')
                    return false;
                ++m_i;
                skip();
            }
            if (!value())
                return false;
            skip();
            if (m_i >= m_s.size())
                return false;
            if (m_s[m_i] == ',') {
                ++m_i;
                continue;
            }
            if (m_s[m_i] == close) {
                ++m_i;
                return true;
            }
            return false;
        }
    }

    const std::string& m_s;
    size_t m_i { 0 };
    int m_depth { 0 };
};

bool valid_json(const std::string& s) { return Validator(s).valid(); }

}  // namespace

TEST(JsonValidator, SelfCheck)
{
    EXPECT_TRUE(valid_json(R"({"a":[1,-2,{"b":null}],"c":true,"d":"x\u00ff\n"})"));
    EXPECT_FALSE(valid_json(R"({"a":1,})"));
    EXPECT_FALSE(valid_json(R"({"a" 1})"));
    EXPECT_FALSE(valid_json(R"([1 2])"));
    EXPECT_FALSE(valid_json("\"a\x01\""));
    EXPECT_FALSE(valid_json(R"("\q")"));
    EXPECT_FALSE(valid_json("01"));
    EXPECT_FALSE(valid_json("{}{}"));
}

TEST(JsonWriter, EmptyContainers)
{
    Fixture f;
    f.json.begin_object();
    f.json.end_object();
    EXPECT_TRUE(f.json.complete());
    EXPECT_TRUE(f.json.end_line());
    EXPECT_EQ(f.text, "{}\r\n");

    Fixture g;
    g.json.begin_array();
    g.json.end_array();
    EXPECT_EQ(g.text, "[]");
    EXPECT_FALSE(g.json.error());
}

TEST(JsonWriter, NestingAndCommas)
{
    Fixture f;
    f.json.begin_object();
    f.json.field_u64("tsc_hz", 2000000000);
    f.json.field_i64("delta", -5);
    f.json.begin_array("tasks");
    for (int i = 0; i < 3; ++i) {
        f.json.begin_object();
        f.json.field_str("name", i == 0 ? "uart" : "pci");
        f.json.field_bool("ok", i != 1);
        f.json.field_null("detail");
        f.json.end_object();
    }
    f.json.end_array();
    f.json.begin_object("heap");
    f.json.end_object();
    f.json.begin_array("nums");
    f.json.u64(1);
    f.json.i64(-2);
    f.json.boolean(false);
    f.json.null();
    f.json.str("s");
    f.json.hex(0x1000);
    f.json.begin_array();
    f.json.end_array();
    f.json.end_array();
    f.json.end_object();
    EXPECT_FALSE(f.json.error());
    EXPECT_EQ(f.json.depth(), 0u);
    EXPECT_EQ(f.text,
        R"({"tsc_hz":2000000000,"delta":-5,"tasks":[{"name":"uart","ok":true,"detail":null},)"
        R"({"name":"pci","ok":false,"detail":null},{"name":"pci","ok":true,"detail":null}],)"
        R"("heap":{},"nums":[1,-2,false,null,"s","0x1000",[]]})");
    EXPECT_TRUE(valid_json(f.text));
    EXPECT_EQ(f.text.find('\n'), std::string::npos);
}

TEST(JsonWriter, IntegerExtremesAndHex)
{
    Fixture f;
    f.json.begin_array();
    f.json.u64(0);
    f.json.u64(UINT64_MAX);
    f.json.i64(INT64_MIN);
    f.json.i64(INT64_MAX);
    f.json.hex(0);
    f.json.hex(0xffffffff80000000ull);
    f.json.end_array();
    EXPECT_EQ(f.text, R"([0,18446744073709551615,-9223372036854775808,9223372036854775807,"0x0","0xffffffff80000000"])");
    EXPECT_TRUE(valid_json(f.text));
}

TEST(JsonWriter, EscapesEveryClass)
{
    Fixture f;
    std::string all;
    for (int c = 1; c < 256; ++c)
        all.push_back(static_cast<char>(c));
    f.json.str(all.data(), all.size());
    EXPECT_FALSE(f.json.error());
    EXPECT_TRUE(valid_json(f.text));
    // ASCII-only output, no raw control characters.
    for (char c : f.text) {
        unsigned char u = static_cast<unsigned char>(c);
        ASSERT_TRUE(u >= 0x20 && u < 0x7f) << int(u);
    }

    Fixture g;
    const char tricky[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f\x80\xff";
    g.json.str(tricky, sizeof tricky - 1);
    EXPECT_EQ(g.text, R"("q\"b\\s/\b\f\n\r\t\u0001\u001f\u007f\u0080\u00ff")");
}

TEST(JsonWriter, EmbeddedNulWithLength)
{
    Fixture f;
    f.json.str("a\0b", 3);
    EXPECT_EQ(f.text, R"("a\u0000b")");
}

TEST(JsonWriter, NullStringIsNull)
{
    Fixture f;
    f.json.begin_object();
    f.json.field_str("detail", nullptr);
    f.json.end_object();
    EXPECT_EQ(f.text, R"({"detail":null})");
    EXPECT_FALSE(f.json.error());
}

TEST(JsonWriter, KeysAreEscaped)
{
    Fixture f;
    f.json.begin_object();
    f.json.field_u64("a\"b\n", 1);
    f.json.end_object();
    EXPECT_EQ(f.text, R"({"a\"b\n":1})");
}

TEST(JsonWriter, ValueWithoutKeyInObjectIsMisuse)
{
    Fixture f;
    f.json.begin_object();
    f.json.u64(1);
    EXPECT_TRUE(f.json.error());
}

TEST(JsonWriter, KeyOutsideObjectIsMisuse)
{
    Fixture top;
    top.json.key("a");
    EXPECT_TRUE(top.json.error());

    Fixture arr;
    arr.json.begin_array();
    arr.json.key("a");
    EXPECT_TRUE(arr.json.error());

    Fixture null_key;
    null_key.json.begin_object();
    null_key.json.key(nullptr);
    EXPECT_TRUE(null_key.json.error());
}

TEST(JsonWriter, TwoKeysInARowIsMisuse)
{
    Fixture f;
    f.json.begin_object();
    f.json.key("a");
    EXPECT_FALSE(f.json.error());
    f.json.key("b");
    EXPECT_TRUE(f.json.error());
}

TEST(JsonWriter, DanglingKeyAtEndIsMisuse)
{
    Fixture f;
    f.json.begin_object();
    f.json.key("a");
    f.json.end_object();
    EXPECT_TRUE(f.json.error());
    EXPECT_EQ(f.json.depth(), 0u);
}

TEST(JsonWriter, UnbalancedEnds)
{
    Fixture extra;
    extra.json.end_object();
    EXPECT_TRUE(extra.json.error());
    EXPECT_EQ(extra.text, "");

    Fixture mismatch;
    mismatch.json.begin_object();
    mismatch.json.end_array();
    EXPECT_TRUE(mismatch.json.error());

    Fixture open;
    open.json.begin_array();
    open.json.u64(1);
    EXPECT_FALSE(open.json.complete());
    EXPECT_FALSE(open.json.end_line());
    EXPECT_TRUE(open.json.error());
}

TEST(JsonWriter, EndLineNeedsOneValue)
{
    Fixture none;
    EXPECT_FALSE(none.json.end_line());

    Fixture two;
    two.json.u64(1);
    EXPECT_FALSE(two.json.error());
    two.json.u64(2);
    EXPECT_TRUE(two.json.error());

    Fixture scalar;
    scalar.json.str("ok");
    EXPECT_TRUE(scalar.json.end_line());
    EXPECT_EQ(scalar.text, "\"ok\"\r\n");
}

TEST(JsonWriter, DepthLimit)
{
    Fixture ok;
    for (size_t i = 0; i < JsonWriter::kMaxDepth; ++i)
        ok.json.begin_array();
    EXPECT_FALSE(ok.json.error());
    EXPECT_EQ(ok.json.depth(), JsonWriter::kMaxDepth);
    for (size_t i = 0; i < JsonWriter::kMaxDepth; ++i)
        ok.json.end_array();
    EXPECT_TRUE(ok.json.complete());
    EXPECT_TRUE(valid_json(ok.text));

    Fixture deep;
    for (size_t i = 0; i < JsonWriter::kMaxDepth + 3; ++i)
        deep.json.begin_array();
    EXPECT_TRUE(deep.json.error());
    deep.json.u64(7);  // inside a level that was never written: dropped
    for (size_t i = 0; i < JsonWriter::kMaxDepth + 3; ++i)
        deep.json.end_array();
    // The levels that were written are still balanced.
    EXPECT_EQ(deep.json.depth(), 0u);
    EXPECT_TRUE(valid_json(deep.text));
    EXPECT_EQ(deep.text, std::string(JsonWriter::kMaxDepth, '[') + std::string(JsonWriter::kMaxDepth, ']'));
}

TEST(ShellOutput, TextHelpers)
{
    std::string text;
    Output out(append, &text);
    out.puts("ab");
    out.puts(nullptr);
    out.put_padded("id", 5);
    out.put_padded("toolong", 3);
    out.put_padded(nullptr, 2);
    out.repeat('-', 3);
    out.newline();
    out.write("xyz", 0);
    EXPECT_EQ(text, "abid   toolong  ---\r\n");

    Output muted(nullptr, nullptr);
    muted.puts("dropped");  // a null sink discards without crashing
    muted.put_padded("x", 3);
}
