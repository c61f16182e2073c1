#include "shell/json_writer.h"

namespace exo {

namespace {

constexpr uint8_t kFirstNonControl = 0x20;  // RFC 8259 section 7: below must be escaped
constexpr uint8_t kDel = 0x7F;              // escaped too, to keep the line printable
// A pointer to a literal, not an array: the literal merges with format.cc's.
constexpr const char* kHexDigits = "0123456789abcdef";

}  // namespace

// Commas and key/value checks shared by every value and container opener.
// False when the value must not be written (inside an overflowed level).
bool JsonWriter::before_value()
{
    if (m_overflow != 0) {
        m_error = true;
        return false;
    }
    if (m_depth == 0) {
        if (m_top_done)
            m_error = true;  // one line carries one value
        m_top_done = true;
        return true;
    }
    size_t level = m_depth - 1;
    if (m_kind[level] == Container::Object) {
        if (m_key_pending) {
            m_key_pending = false;  // key() wrote the comma
            return true;
        }
        m_error = true;  // a value without a key
    }
    separate(level);
    return true;
}

// A comma before every item of a container but its first.
void JsonWriter::separate(size_t level)
{
    if (m_has_items[level])
        m_out.put(',');
    m_has_items[level] = true;
}

void JsonWriter::key(const char* name)
{
    key(name, name != nullptr ? __builtin_strlen(name) : 0);
}

void JsonWriter::key(const char* name, size_t length)
{
    if (name == nullptr || m_depth == 0 || m_overflow != 0 || m_kind[m_depth - 1] != Container::Object
        || m_key_pending) {
        m_error = true;
        return;
    }
    separate(m_depth - 1);
    write_escaped(name, length);
    m_out.put(':');
    m_key_pending = true;
}

void JsonWriter::open(Container kind, char bracket)
{
    if (m_overflow != 0 || m_depth == kMaxDepth) {
        m_error = true;
        ++m_overflow;
        return;
    }
    if (!before_value())
        return;
    m_out.put(bracket);
    m_kind[m_depth] = kind;
    m_has_items[m_depth] = false;
    ++m_depth;
}

void JsonWriter::close(Container kind, char bracket)
{
    if (m_overflow != 0) {
        --m_overflow;
        return;
    }
    if (m_depth == 0 || m_kind[m_depth - 1] != kind || m_key_pending) {
        m_error = true;
        if (m_depth == 0)
            return;
        m_key_pending = false;
    }
    m_out.put(bracket);
    --m_depth;
}

void JsonWriter::begin_object() { open(Container::Object, '{'); }
void JsonWriter::end_object() { close(Container::Object, '}'); }
void JsonWriter::begin_array() { open(Container::Array, '['); }
void JsonWriter::end_array() { close(Container::Array, ']'); }

void JsonWriter::write_escaped(const char* text, size_t length)
{
    // RFC 8259 section 7 two-character escapes: the byte, then its letter.
    static constexpr char kShortEscapes[] = "\"\"\\\\\bb\ff\nn\rr\tt";
    m_out.put('"');
    size_t run = 0;  // bytes that need no escape, written in one go
    for (size_t i = 0; i < length; ++i) {
        uint8_t c = static_cast<uint8_t>(text[i]);
        if (c >= kFirstNonControl && c < kDel && c != '"' && c != '\\') {
            ++run;
            continue;
        }
        m_out.write(text + i - run, run);
        run = 0;
        // Bytes >= 0x80 become U+0080..U+00FF: lossy for UTF-8 but always
        // valid, ASCII-only JSON.
        char escape[6] = { '\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF] };
        size_t escape_length = sizeof escape;
        for (const char* e = kShortEscapes; *e != '\0'; e += 2) {
            if (static_cast<uint8_t>(*e) == c) {
                escape[1] = e[1];
                escape_length = 2;
                break;
            }
        }
        m_out.write(escape, escape_length);
    }
    m_out.write(text + length - run, run);
    m_out.put('"');
}

void JsonWriter::str(const char* text)
{
    if (text == nullptr) {
        null();
        return;
    }
    str(text, __builtin_strlen(text));
}

void JsonWriter::str(const char* text, size_t length)
{
    if (!before_value())
        return;
    write_escaped(text != nullptr ? text : "", text != nullptr ? length : 0);
}

void JsonWriter::number(const char* fmt, FormatKind kind, uint64_t bits)
{
    if (!before_value())
        return;
    FormatArg arg {};
    arg.kind = kind;
    arg.u = bits;
    format_impl(m_out.sink(), fmt, &arg, 1);
}

void JsonWriter::u64(uint64_t value) { number("%u", FormatKind::Unsigned, value); }

void JsonWriter::i64(int64_t value) { number("%d", FormatKind::Signed, static_cast<uint64_t>(value)); }

void JsonWriter::boolean(bool value)
{
    if (!before_value())
        return;
    m_out.puts(value ? "true" : "false");
}

void JsonWriter::null()
{
    if (!before_value())
        return;
    m_out.puts("null");
}

void JsonWriter::hex(uint64_t value) { number("\"0x%x\"", FormatKind::Unsigned, value); }

bool JsonWriter::end_line()
{
    if (!complete())
        m_error = true;
    m_out.newline();
    return !m_error;
}

}  // namespace exo
