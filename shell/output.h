// Where the shell's text goes: a function pointer plus a context, so the
// kernel plugs in the UART and host tests plug in a std::string.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/format.h"

namespace exo {

class Output {
public:
    // Same shape as exo::Sink's put, so one UART adapter serves both.
    using WriteFn = void (*)(void* ctx, const char* data, size_t length);

    // The serial line does no LF -> CRLF translation, so the shell sends both.
    static constexpr const char* kNewline = "\r\n";
    // A null `fn` discards everything (useful for counting or muting).
    constexpr Output(WriteFn fn, void* ctx) : m_sink { fn, ctx } {}

    void write(const char* data, size_t length) { m_sink.write(data, length); }

    void put(char c) { write(&c, 1); }
    // The same destination as a formatter sink, by reference: print() hands
    // it straight to format_v.
    const Sink& sink() const { return m_sink; }

    // Unlike C's puts, no newline is added. Out of line: partial inlining
    // otherwise leaves a private copy of it in every file that prints.
    [[gnu::noinline]] void puts(const char* text)
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

private:
    Sink m_sink;
};

}  // namespace exo
