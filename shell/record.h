// One description renders both forms of a telemetry record: the text a
// person reads and the JSON line a program reads. A template is the text
// form with the record's fields named in place:
//
//   "heap: {used_bytes} B in use, {peak_bytes} B peak\n"
//
// Text renders the literal text and each field with a printf conversion;
// JSON renders only the fields, as "key":value, in template order. Syntax:
//
//   {key}        the next argument; its conversion follows its type
//                (signed %d, unsigned %u, pointer %p, string %s, char %c)
//   {key:SPEC}   the same with an explicit printf spec (flags, width,
//                conversion d i u x X p s c), e.g. {name:-10s} {cr0:x}.
//                In JSON: x X p give a "0x..." string, d i u a number,
//                s a string, c a one-character string; bools are true/false.
//   {:SPEC}      text only: consumes an argument, nothing in JSON
//   {!key:SPEC}  JSON only: consumes an argument, nothing in text
//   {@key}       JSON only, no argument: opens object "key"; {@} closes it
//   {{           a literal '{' in the text
//
// Arguments travel as in exo::format (kernel/lib/format.h): one word each.
// A template that asks for more arguments than given prints kFormatMissing
// in text and null in JSON; a malformed placeholder prints kFormatBadSpec.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/format.h"
#include "kernel/lib/result.h"
#include "shell/command.h"
#include "shell/json_writer.h"
#include "shell/output.h"

namespace exo {

// Renders `tmpl` to `out` as text, or, when `json` is set, its fields into
// `json` (which must be inside an object).
void render_record(Output& out, JsonWriter* json, const char* tmpl, const FormatArg* args, size_t count);

// Start of every --json line: {"schema":1, ...
inline void begin_json(JsonWriter& json)
{
    json.begin_object();
    json.field_u64("schema", 1);
}

// Closes the one JSON line: the object opened by begin_json, then CRLF.
inline Result<void> end_json(JsonWriter& json)
{
    json.end_object();
    return json.end_line() ? Result<void>() : Error::Corrupt;
}

// A whole command's answer in one record: text, or one JSON line with the
// schema field first.
Result<void> emit_record_v(CommandContext& ctx, const char* tmpl, FormatSig sig, ...);

template<typename... Args>
Result<void> emit_record(CommandContext& ctx, const char* tmpl, Args&&... args)
{
    return emit_record_v(ctx, tmpl, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

// The shape most listing commands share: with --json, `{"schema":1, ...,
// "KEY":[ rows ]}` on one line (fields() before open_items() go in
// between); otherwise the text of each template. finish() closes whichever
// was opened.
class Listing {
public:
    Listing(CommandContext& ctx, const char* array_key);

    bool json() const { return m_ctx.json(); }
    JsonWriter& writer() { return m_json; }
    // Call once the top-level fields (if any) are written.
    void open_items();
    // Ends the array early, so fields() after it land in the top-level
    // object (e.g. totals after the rows). finish() then closes the line.
    void close_items();
    Result<void> finish();

    // Fields of the enclosing object (or of the row the caller opened).
    template<typename... Args>
    void fields(const char* tmpl, Args&&... args)
    {
        emit_v(Shape::Fields, tmpl, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
    }
    // One row: a JSON object in the array, or its text.
    template<typename... Args>
    void row(const char* tmpl, Args&&... args)
    {
        emit_v(Shape::Row, tmpl, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
    }
    // Text only (table headers, notes): nothing in JSON.
    template<typename... Args>
    void text(const char* tmpl, Args&&... args)
    {
        emit_v(Shape::Text, tmpl, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
    }

private:
    enum class Shape : uint8_t { Fields, Row, Text };
    void emit_v(Shape shape, const char* tmpl, FormatSig sig, ...);

    CommandContext& m_ctx;
    JsonWriter m_json;
    const char* m_key;
};

}  // namespace exo
