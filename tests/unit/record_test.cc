// shell/record.h: one template renders a record as text and as JSON.
#include "shell/record.h"

#include <gtest/gtest.h>

#include <string>

using namespace exo;

namespace {

void append(void* ctx, const char* data, size_t length) { static_cast<std::string*>(ctx)->append(data, length); }

Result<void> no_run(CommandContext&, int, const char* const*) { return {}; }
constexpr Command kCommand { "rec\0rec\0test", no_run };

struct Rendered {
    std::string text;
    std::string json;
};

template<typename... Args>
Rendered render(const char* tmpl, Args&&... args)
{
    Rendered r;
    Output text_out { append, &r.text };
    CommandContext text_ctx(text_out, OutputFormat::Text, kCommand, nullptr);
    EXPECT_TRUE(emit_record(text_ctx, tmpl, args...).ok());
    Output json_out { append, &r.json };
    CommandContext json_ctx(json_out, OutputFormat::Json, kCommand, nullptr);
    EXPECT_TRUE(emit_record(json_ctx, tmpl, args...).ok());
    return r;
}

TEST(Record, TextKeepsLiteralsAndJsonKeepsFields)
{
    Rendered r = render("heap: {used_bytes} B in use, {peak_bytes} B peak\n", 10u, 20u);
    EXPECT_EQ(r.text, "heap: 10 B in use, 20 B peak\n");
    EXPECT_EQ(r.json, "{\"schema\":1,\"used_bytes\":10,\"peak_bytes\":20}\r\n");
}

TEST(Record, ConversionsPickTheJsonType)
{
    char name[4] = { 'c', 'o', 'm', '1' };  // unterminated: bounded by its size
    Rendered r = render("{name:-6s}|{irq:3d}|{base:x}|{at:p}|{on}|{ch}", name, -4, 0x3f8u,
        reinterpret_cast<void*>(0x1000), true, 'q');
    EXPECT_EQ(r.text, "com1  | -4|3f8|0x0000000000001000|true|q");
    EXPECT_EQ(r.json,
        "{\"schema\":1,\"name\":\"com1\",\"irq\":-4,\"base\":\"0x3f8\",\"at\":\"0x1000\",\"on\":true,\"ch\":\"q\"}\r\n");
}

TEST(Record, AHighCharIsTheSameNumberInTextAndJson)
{
    // A char above 0x7f is its byte (233), not its sign extension.
    char c = static_cast<char>(0xE9);
    Rendered r = render("{byte:u} {hex:x}", c, c);
    EXPECT_EQ(r.text, "233 e9");
    EXPECT_EQ(r.json, "{\"schema\":1,\"byte\":233,\"hex\":\"0xe9\"}\r\n");
}

TEST(Record, TextOnlyJsonOnlyAndNestedObjects)
{
    Rendered r = render("{@phys}total {total_kib} KiB (end {:x}){!peak}{@}\n{{literal}", 64u, 0xffu, 7u);
    EXPECT_EQ(r.text, "total 64 KiB (end ff)\n{literal}");
    EXPECT_EQ(r.json, "{\"schema\":1,\"phys\":{\"total_kib\":64,\"peak\":7}}\r\n");
}

TEST(Record, StringsAreEscapedAndNullIsNull)
{
    const char* none = nullptr;
    Rendered r = render("{a} {b}", "say \"hi\"\n", none);
    EXPECT_EQ(r.text, "say \"hi\"\n (null)");
    EXPECT_EQ(r.json, "{\"schema\":1,\"a\":\"say \\\"hi\\\"\\n\",\"b\":null}\r\n");
}

TEST(Record, MissingArgumentsAndBadTemplatesStayWellFormed)
{
    Rendered missing = render("{a} {b}", 1u);
    EXPECT_EQ(missing.text, std::string("1 ") + kFormatMissing);
    EXPECT_EQ(missing.json, "{\"schema\":1,\"a\":1,\"b\":null}\r\n");
    Rendered open = render("x {a", 1u);
    EXPECT_EQ(open.text, std::string("x ") + kFormatBadSpec);
    EXPECT_EQ(open.json, "{\"schema\":1}\r\n");
    Rendered long_spec = render("{a:-123456789012345u}", 1u);
    EXPECT_EQ(long_spec.text, kFormatBadSpec);
    // An object never closed: the JSON writer reports it instead of ending a bad line.
    std::string json;
    Output out { append, &json };
    CommandContext ctx(out, OutputFormat::Json, kCommand, nullptr);
    EXPECT_FALSE(emit_record(ctx, "{@o}{a}", 1u).ok());
}

// The same listing code, once per output format.
std::string render_listing(OutputFormat format)
{
    std::string out_text;
    Output out { append, &out_text };
    CommandContext ctx(out, format, kCommand, nullptr);
    Listing list(ctx, "rows");
    list.fields("count {count}\n", 2u);
    list.open_items();
    list.text("header\n");
    list.row("{n:-4s} {v}\n", "a", 1u);
    list.row("{n:-4s} {v}\n", "b", 2u);
    list.close_items();
    list.fields("total {total}\n", 3u);
    EXPECT_TRUE(list.finish().ok());
    return out_text;
}

TEST(Listing, RowsBecomeAnArrayOfObjectsAndFieldsAfterItGoOnTheTop)
{
    EXPECT_EQ(render_listing(OutputFormat::Json),
        "{\"schema\":1,\"count\":2,\"rows\":[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":2}],\"total\":3}\r\n");
    EXPECT_EQ(render_listing(OutputFormat::Text), "count 2\nheader\na    1\nb    2\ntotal 3\n");
}

}  // namespace
