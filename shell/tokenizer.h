// Splits a shell line into argv. Rules (a small subset of POSIX sh):
// blanks (space, tab) separate words; "double quotes" group blanks, with \"
// and \\ as the only escapes inside them; 'single quotes' are fully literal;
// quoted and unquoted pieces next to each other join into one word
// (a"b c"d -> "ab cd"). A backslash outside quotes is an ordinary character.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo {

class Tokens {
public:
    // Longest line the shell accepts (matches LineEditor::kCapacity).
    static constexpr size_t kMaxLineLength = 256;
    // argv entries, including the command name.
    static constexpr size_t kMaxArgs = 16;

    // Replaces the contents with the words of `line[0..length)`. Errors:
    // InvalidArgument for an unterminated quote, TooLong for more than
    // kMaxArgs words or a line longer than kMaxLineLength. On error the
    // list is left empty.
    Result<void> parse(const char* line, size_t length);

    int argc() const { return static_cast<int>(m_argc); }
    // Null-terminated like C's argv; the strings live inside this object.
    const char* const* argv() const { return m_argv; }
    const char* operator[](size_t index) const { return index < m_argc ? m_argv[index] : nullptr; }

private:
    // Every word needs its NUL, but each word but the last is followed by a
    // separator in the input and "" takes two input bytes: length + 1 fits.
    char m_storage[kMaxLineLength + 1] {};
    const char* m_argv[kMaxArgs + 1] {};
    size_t m_argc { 0 };
};

// Unsigned integer: decimal, or hex with a 0x/0X prefix. The whole string
// must be digits. InvalidArgument for empty/malformed text, TooLong when the
// value does not fit in 64 bits.
Result<uint64_t> parse_u64(const char* text);

}  // namespace exo
