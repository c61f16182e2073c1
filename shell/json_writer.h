// Streams one line of JSON (RFC 8259) to an Output: no newline inside, ASCII
// only, commas placed automatically. Misuse (a value without a key inside an
// object, a key inside an array, an unbalanced end, nesting past kMaxDepth,
// a second top-level value) sets error() instead of asserting, so tests and
// commands can check it; output after misuse is best effort. No floats.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "shell/output.h"

namespace exo {

class JsonWriter {
public:
    static constexpr size_t kMaxDepth = 16;

    explicit JsonWriter(Output& out) : m_out(out) {}

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    void key(const char* name);
    void key(const char* name, size_t length);

    // Values. A null string writes null.
    void str(const char* text);
    void str(const char* text, size_t length);
    void u64(uint64_t value);
    void i64(int64_t value);
    void boolean(bool value);
    void null();
    // "0x..." lowercase; addresses do not fit JSON numbers' safe range.
    void hex(uint64_t value);

    // key + value shorthands.
    void begin_object(const char* name) { key(name); begin_object(); }
    void begin_array(const char* name) { key(name); begin_array(); }
    void field_str(const char* name, const char* text) { key(name); str(text); }
    [[gnu::noinline]] void field_u64(const char* name, uint64_t value) { key(name); u64(value); }  // two callers
    void field_i64(const char* name, int64_t value) { key(name); i64(value); }
    void field_bool(const char* name, bool value) { key(name); boolean(value); }
    void field_hex(const char* name, uint64_t value) { key(name); hex(value); }
    void field_null(const char* name) { key(name); null(); }

    // Ends the line. Flags an error unless exactly one complete value was
    // written. Returns !error().
    bool end_line();

    bool error() const { return m_error; }
    size_t depth() const { return m_depth; }
    // One top-level value written and every container closed.
    bool complete() const { return m_depth == 0 && m_overflow == 0 && m_top_done; }

private:
    enum class Container : uint8_t { Object, Array };

    bool before_value();
    void separate(size_t level);
    void open(Container kind, char bracket);
    void close(Container kind, char bracket);
    void write_escaped(const char* text, size_t length);
    // A number value: `fmt` holds one conversion for `bits` read as `kind`.
    void number(const char* fmt, FormatKind kind, uint64_t bits);

    Output& m_out;
    Container m_kind[kMaxDepth] {};
    bool m_has_items[kMaxDepth] {};
    size_t m_depth { 0 };
    size_t m_overflow { 0 };   // levels opened past kMaxDepth (not written)
    bool m_key_pending { false };
    bool m_top_done { false };
    bool m_error { false };
};

}  // namespace exo
