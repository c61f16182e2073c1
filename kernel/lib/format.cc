// The non-template formatting core. See format.h for the accepted syntax.
#include "kernel/lib/format.h"

namespace exo {

bool format_integer(const FormatArg& a, uint64_t& bits, bool& negative)
{
    negative = a.kind == FormatKind::Signed && a.i < 0;
    // A char's value is its byte, independent of char signedness; a bool's
    // byte is 0 or 1.
    bits = a.kind == FormatKind::Char || a.kind == FormatKind::Bool ? static_cast<unsigned char>(a.c) : a.u;
    return a.kind != FormatKind::Pointer && a.kind != FormatKind::String;
}

size_t format_string_length(const char* s, uint32_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        ++n;
    return n;
}

namespace {

// Widths beyond this are clamped: nobody needs a wider field, and it keeps
// the width parser free of overflow.
constexpr size_t kMaxWidth = 1024;
// 64-bit values: 20 decimal digits (UINT64_MAX) or 16 hex digits, plus sign.
constexpr size_t kNumberBuffer = 24;
// %p is always "0x" followed by all 16 nibbles of a 64-bit address.
constexpr unsigned kPointerDigits = 16;

enum class Align : uint8_t { Right, Left };
enum class Pad : uint8_t { Space, Zero };
enum class Case : uint8_t { Lower, Upper };

// Counts everything it forwards so format_impl can return the full length.
class Writer {
public:
    explicit Writer(const Sink& sink) : m_sink(sink) {}

    void write(const char* s, size_t n)
    {
        m_sink.write(s, n);
        m_total += n;
    }

    // One char per write: padding is short, and no chunk buffer to fill.
    void repeat(char c, size_t n)
    {
        for (; n > 0; --n)
            write(&c, 1);
    }

    void write_cstr(const char* s) { write(s, __builtin_strlen(s)); }

    size_t total() const { return m_total; }

private:
    const Sink& m_sink;
    size_t m_total { 0 };
};

struct Spec {
    Align align { Align::Right };
    Pad pad { Pad::Space };
    size_t width { 0 };
};

// Writes `prefix` (sign or "0x") and `body`, padded to the field width.
// Zero padding goes between the prefix and the digits, as in C.
void emit_field(Writer& out, const Spec& spec, const char* prefix, size_t prefix_len, const char* body,
                size_t body_len, Pad pad)
{
    size_t len = prefix_len + body_len;
    size_t fill = spec.width > len ? spec.width - len : 0;
    if (spec.align == Align::Left) {
        out.write(prefix, prefix_len);
        out.write(body, body_len);
        out.repeat(' ', fill);
    } else if (pad == Pad::Zero) {
        out.write(prefix, prefix_len);
        out.repeat('0', fill);
        out.write(body, body_len);
    } else {
        out.repeat(' ', fill);
        out.write(prefix, prefix_len);
        out.write(body, body_len);
    }
}

// Renders `v` right-aligned into buf[0..kNumberBuffer); returns the start.
// `min_digits` forces leading zeros (used by %p).
char* render_unsigned(char (&buf)[kNumberBuffer], uint64_t v, unsigned base, Case letter_case, unsigned min_digits)
{
    const char* digits = letter_case == Case::Upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char* end = buf + kNumberBuffer;
    char* p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v != 0);
    while (static_cast<size_t>(end - p) < min_digits)
        *--p = '0';
    return p;
}

// One conversion of `a` (conv is one of "diuxXpsc"), padded per `spec`.
// One function for all of them: they differ in which kinds they accept and
// in the text they hand to emit_field.
void emit_conversion(Writer& out, const Spec& spec, const FormatArg& a, char conv)
{
    uint64_t bits = 0;
    bool negative = false;
    bool ok = format_integer(a, bits, negative);  // d i u x X
    if (conv == 's')
        ok = a.kind == FormatKind::String || a.kind == FormatKind::Bool;
    else if (conv == 'c')
        ok = ok && a.kind != FormatKind::Bool;
    else if (conv == 'p')
        ok = a.kind != FormatKind::Char && a.kind != FormatKind::Bool;
    if (!ok) {
        out.write_cstr(kFormatMismatch);
        return;
    }
    char buf[kNumberBuffer];
    const char* body = buf;
    size_t body_len = 1;
    const char* prefix = "";
    size_t prefix_len = 0;
    Pad pad = Pad::Space;
    if (conv == 's') {
        if (a.kind == FormatKind::Bool) {
            body = a.b ? "true" : "false";
            body_len = __builtin_strlen(body);
        } else if (a.s == nullptr) {
            body = kFormatNull;
            body_len = __builtin_strlen(kFormatNull);
        } else {
            body = a.s;
            body_len = format_string_length(a.s, a.max_len);
        }
    } else if (conv == 'c') {
        // As in C, %c takes an integer and prints its low byte.
        buf[0] = static_cast<char>(bits);
    } else {
        unsigned base = 10;
        unsigned min_digits = 1;
        Case letter_case = conv == 'X' ? Case::Upper : Case::Lower;
        if (conv == 'p') {
            // Integers, pointers and strings (their address) all live in `u`.
            bits = a.u;
            min_digits = kPointerDigits;
            base = 16;
            prefix = "0x";
            prefix_len = 2;
        } else if (conv == 'x' || conv == 'X') {
            base = 16;
            pad = spec.pad;
        } else {
            // %u of a negative signed value prints its two's complement, as %x does.
            if (negative && conv != 'u') {
                bits = 0 - bits;  // well defined in unsigned arithmetic, INT64_MIN included
                prefix = "-";
                prefix_len = 1;
            }
            pad = spec.pad;
        }
        body = render_unsigned(buf, bits, base, letter_case, min_digits);
        body_len = static_cast<size_t>(buf + kNumberBuffer - body);
    }
    emit_field(out, spec, prefix, prefix_len, body, body_len, pad);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

size_t format_impl(const Sink& sink, const char* fmt, const FormatArg* args, size_t count)
{
    Writer out(sink);
    if (fmt == nullptr) {
        out.write_cstr(kFormatNull);
        return out.total();
    }
    if (args == nullptr)
        count = 0;

    size_t next_arg = 0;
    const char* p = fmt;
    while (*p != '\0') {
        // Copy the literal run up to the next '%' in one write.
        const char* run = p;
        while (*p != '\0' && *p != '%')
            ++p;
        out.write(run, static_cast<size_t>(p - run));
        if (*p == '\0')
            break;
        ++p;  // skip '%'

        Spec spec;
        for (;; ++p) {
            if (*p == '-')
                spec.align = Align::Left;
            else if (*p == '0')
                spec.pad = Pad::Zero;
            else
                break;
        }
        // C: '-' overrides '0'.
        if (spec.align == Align::Left)
            spec.pad = Pad::Space;
        for (; is_digit(*p); ++p) {
            spec.width = spec.width * 10 + static_cast<size_t>(*p - '0');
            if (spec.width > kMaxWidth)
                spec.width = kMaxWidth;
        }
        // Length modifiers carry no information: the argument knows its type.
        while (*p == 'l' || *p == 'h' || *p == 'z' || *p == 'j' || *p == 't')
            ++p;

        char conv = *p;
        if (conv == '\0') {
            out.write_cstr(kFormatBadSpec);
            break;
        }
        ++p;
        if (conv == '%') {
            out.write("%", 1);
            continue;
        }
        bool known = conv == 'd' || conv == 'i' || conv == 'u' || conv == 'x' || conv == 'X' || conv == 'p' ||
                     conv == 's' || conv == 'c';
        if (!known) {
            out.write_cstr(kFormatBadSpec);
            continue;
        }
        if (next_arg >= count) {
            out.write_cstr(kFormatMissing);
            continue;
        }
        emit_conversion(out, spec, args[next_arg++], conv);
    }
    // Extra arguments are ignored by design.
    return out.total();
}

BufferSink::BufferSink(char* buf, size_t cap) : m_buf(buf), m_cap(buf != nullptr ? cap : 0)
{
    if (m_cap > 0)
        m_buf[0] = '\0';
}

void BufferSink::put(void* ctx, const char* s, size_t n)
{
    auto* self = static_cast<BufferSink*>(ctx);
    self->m_length += n;
    if (self->m_cap == 0)
        return;
    size_t room = self->m_cap - 1 - self->m_stored;
    size_t take = n < room ? n : room;
    __builtin_memcpy(self->m_buf + self->m_stored, s, take);
    self->m_stored += take;
    self->m_buf[self->m_stored] = '\0';
}

size_t format_to_impl(char* buf, size_t cap, const char* fmt, const FormatArg* args, size_t count)
{
    BufferSink out(buf, cap);
    format_impl(out.sink(), fmt, args, count);
    return out.length();
}

static_assert(static_cast<uint8_t>(FormatWordKind::Signed) == static_cast<uint8_t>(FormatKind::Signed) &&
              static_cast<uint8_t>(FormatWordKind::Unsigned) == static_cast<uint8_t>(FormatKind::Unsigned) &&
              static_cast<uint8_t>(FormatWordKind::Pointer) == static_cast<uint8_t>(FormatKind::Pointer) &&
              static_cast<uint8_t>(FormatWordKind::String) == static_cast<uint8_t>(FormatKind::String) &&
              static_cast<uint8_t>(FormatWordKind::Char) == static_cast<uint8_t>(FormatKind::Char) &&
              static_cast<uint8_t>(FormatWordKind::Bool) == static_cast<uint8_t>(FormatKind::Bool));

size_t decode_format_args(FormatSig sig, __builtin_va_list ap, FormatArg (&out)[kMaxFormatArgs])
{
    size_t count = sig & ((1u << kFormatCountBits) - 1);
    if (count > kMaxFormatArgs)
        count = kMaxFormatArgs;
    sig >>= kFormatCountBits;
    for (size_t i = 0; i < count; ++i, sig >>= kFormatKindBits) {
        uint64_t word = __builtin_va_arg(ap, uint64_t);
        FormatArg& a = out[i];
        a.max_len = FormatArg::kUnbounded;
        a.u = word;  // `c` and `b` are its low byte (a bool word is 0 or 1)
        auto kind = static_cast<FormatWordKind>(sig & ((1u << kFormatKindBits) - 1));
        if (kind == FormatWordKind::Span) {
            const FormatStr* span = reinterpret_cast<const FormatStr*>(word);
            a.kind = FormatKind::String;
            a.s = span->data;
            a.max_len = span->length;
        } else if (kind == FormatWordKind::Arg) {
            a = *reinterpret_cast<const FormatArg*>(word);
        } else {
            a.kind = static_cast<FormatKind>(kind);  // the same values (static_asserts above)
        }
    }
    return count;
}

size_t format_v(const Sink& sink, const char* fmt, FormatSig sig, ...)
{
    EXO_DECODE_FORMAT_ARGS(sig, args, count)
    return format_impl(sink, fmt, args, count);
}

size_t format_to_v(char* buf, size_t cap, const char* fmt, FormatSig sig, ...)
{
    EXO_DECODE_FORMAT_ARGS(sig, args, count)
    return format_to_impl(buf, cap, fmt, args, count);
}

}  // namespace exo
