// Where the shell's text goes: a function pointer plus a context, so the
// kernel plugs in the UART and host tests plug in a std::string. Number
// formatting lives here too, so the shell core needs no printf.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

enum class HexPrefix : uint8_t { With, Without };

class Output {
public:
    // Same shape as exo::Sink's put, so one UART adapter serves both.
    using WriteFn = void (*)(void* ctx, const char* data, size_t length);

    // The serial line does no LF -> CRLF translation, so the shell sends both.
    static constexpr const char* kNewline = "\r\n";
    // 2^64 - 1 has 20 decimal digits; 16 hex digits.
    static constexpr size_t kMaxDecimalDigits = 20;
    static constexpr size_t kMaxHexDigits = 16;

    // A null `fn` discards everything (useful for counting or muting).
    constexpr Output(WriteFn fn, void* ctx) : m_fn(fn), m_ctx(ctx) {}

    void write(const char* data, size_t length)
    {
        if (m_fn != nullptr && length != 0)
            m_fn(m_ctx, data, length);
    }

    void put(char c) { write(&c, 1); }

    // Unlike C's puts, no newline is added.
    void puts(const char* text)
    {
        if (text != nullptr)
            write(text, __builtin_strlen(text));
    }

    void newline() { write(kNewline, 2); }

    void repeat(char c, size_t count)
    {
        for (size_t i = 0; i < count; ++i)
            put(c);
    }

    // `text`, then spaces up to `width` columns (left-aligned column).
    void put_padded(const char* text, size_t width)
    {
        size_t length = text != nullptr ? __builtin_strlen(text) : 0;
        puts(text);
        if (length < width)
            repeat(' ', width - length);
    }

    // Decimal, right-aligned in `width` columns filled with `fill`.
    void put_unsigned(uint64_t value, size_t width = 0, char fill = ' ')
    {
        char digits[kMaxDecimalDigits];
        size_t count = 0;
        do {
            digits[kMaxDecimalDigits - 1 - count] = static_cast<char>('0' + value % 10);
            value /= 10;
            ++count;
        } while (value != 0);
        if (count < width)
            repeat(fill, width - count);
        write(digits + kMaxDecimalDigits - count, count);
    }

    void put_signed(int64_t value, size_t width = 0)
    {
        // Negate in unsigned arithmetic: -INT64_MIN overflows int64_t.
        uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
        if (value >= 0) {
            put_unsigned(magnitude, width);
            return;
        }
        size_t digits = decimal_digits(magnitude) + 1;
        if (digits < width)
            repeat(' ', width - digits);
        put('-');
        put_unsigned(magnitude);
    }

    // Lowercase hex with at least `min_digits` digits (zero-padded).
    void put_hex(uint64_t value, size_t min_digits = 1, HexPrefix prefix = HexPrefix::With)
    {
        char digits[kMaxHexDigits];
        size_t count = 0;
        do {
            digits[kMaxHexDigits - 1 - count] = "0123456789abcdef"[value & 0xF];
            value >>= 4;
            ++count;
        } while (value != 0);
        if (prefix == HexPrefix::With)
            write("0x", 2);
        if (count < min_digits)
            repeat('0', min_digits - count);
        write(digits + kMaxHexDigits - count, count);
    }

    static constexpr size_t decimal_digits(uint64_t value)
    {
        size_t count = 1;
        while (value >= 10) {
            value /= 10;
            ++count;
        }
        return count;
    }

private:
    WriteFn m_fn;
    void* m_ctx;
};

}  // namespace exo
