// A VT100/ANSI line editor as a pure byte-at-a-time state machine: raw input
// bytes in, echo/redraw bytes out through an Output, and an event when a line
// is complete. No timing and no heap, so a program can paste lines as fast as
// the UART delivers them and a human gets readline-style editing.
//
// Keys (ECMA-48 / VT100 sequences as sent by xterm, screen, minicom, picocom):
//   printable 0x20-0x7E     insert at the cursor
//   Backspace 0x7F / 0x08   delete before the cursor
//   Delete ESC[3~, Ctrl-D   delete under the cursor
//   Left/Right ESC[D/C, Ctrl-B/F; Home/End ESC[H/F, ESC[1~/4~, ESC[7~/8~,
//   ESCOH/OF, Ctrl-A/E; Up/Down ESC[A/B, ESCOA/OB, Ctrl-P/N (history)
//   Ctrl-U/K kill to start/end, Ctrl-W kill previous word, Ctrl-L redraw,
//   Ctrl-C cancel the line, Tab complete through a callback (one candidate:
//   completed plus a space; several: their common prefix is inserted and
//   they are listed under the line; none: bell).
//   CR, LF or CR LF ends a line (the LF of a CR LF pair is swallowed).
// Other control bytes, bytes >= 0x80 and unknown escape sequences are
// dropped without touching the line.
//
// A line wider than the terminal wraps: the editor keeps the terminal's
// width (80, or what its cursor-position report says) and moves across rows.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "shell/output.h"

namespace exo {

enum class LineEvent : uint8_t {
    None,       // keep feeding
    Line,       // line() holds a complete line (possibly empty)
    Cancelled,  // Ctrl-C: "^C" was echoed, the line is gone
    TooLong,    // the line passed the limit and was dropped whole (the shell
                // prints "error: line too long")
};

// Candidates for the word under the cursor. The editor fills in the word
// typed so far; callbacks add() every word that might apply and the list
// keeps only those starting with that prefix, once each.
class Completions {
public:
    static constexpr size_t kMaxCandidates = 32;

    // `prefix` need not be NUL-terminated. Added words are kept by pointer
    // and must live until the completion is applied (static strings do).
    Completions(const char* prefix, size_t prefix_length) : m_prefix(prefix), m_prefix_length(prefix_length) {}

    void add(const char* word);
    void add_all(const char* packed);  // "first\0second\0" (kernel/lib/names.h)

    const char* prefix() const { return m_prefix; }
    size_t prefix_length() const { return m_prefix_length; }
    size_t count() const { return m_count; }
    const char* operator[](size_t index) const { return index < m_count ? m_items[index] : nullptr; }
    // Some matches were dropped because the list was full.
    bool truncated() const { return m_truncated; }
    // Length of the prefix all candidates share (0 when there are none).
    size_t common_length() const;

private:
    const char* m_prefix;
    size_t m_prefix_length;
    const char* m_items[kMaxCandidates];  // only the first m_count are set and read (no fill)
    size_t m_count { 0 };
    bool m_truncated { false };
};

// `line` is NUL-terminated; `cursor` is the byte offset of the cursor in it.
using CompletionFn = void (*)(void* ctx, const char* line, size_t cursor, Completions& out);

// Lines entered recently, newest first, plus the draft the user was typing
// when they started browsing. Kept apart from LineEditor and all-zero when
// empty, so a kernel global of it lands in .bss instead of ~9 KB of .data.
class LineHistory {
public:
    static constexpr size_t kEntries = 32;
    static constexpr size_t kMaxLineLength = 256;

    // Ignores blank lines and a repeat of the newest entry; cuts longer lines.
    void add(const char* line, size_t length);

    size_t size() const { return m_count; }
    // 0 = newest. Null / 0 past the end. NUL-terminated.
    const char* entry(size_t index) const;
    size_t entry_length(size_t index) const;

    void save_draft(const char* line, size_t length);
    const char* draft() const { return m_draft; }
    size_t draft_length() const { return m_draft_length; }

private:
    size_t slot(size_t index) const { return (m_next + kEntries - 1 - index) % kEntries; }

    // Small fields first: one-byte displacements from `this`.
    size_t m_next { 0 };
    size_t m_count { 0 };
    size_t m_draft_length { 0 };
    uint16_t m_lengths[kEntries] {};
    char m_draft[kMaxLineLength + 1] {};
    char m_lines[kEntries][kMaxLineLength + 1] {};
};

class LineEditor {
public:
    // Largest line limit; the buffer is this size (plus NUL).
    static constexpr size_t kCapacity = LineHistory::kMaxLineLength;
    // Escape sequences longer than this (bytes after ESC) are abandoned and
    // the bytes after that are ordinary input again (real keys use <= 6).
    static constexpr size_t kMaxEscapeLength = 16;

    // `prompt` and `history` must outlive the editor. `limit` is clamped to
    // 1..kCapacity.
    constexpr LineEditor(Output& out, const char* prompt, LineHistory& history, size_t limit = kCapacity)
        : m_out(out)
        , m_history(history)
        , m_prompt(prompt != nullptr ? prompt : "")
        , m_limit(limit == 0 || limit > kCapacity ? kCapacity : limit)
    {
        m_buffer[0] = '\0';  // the rest is written before it is read
    }

    void set_completion(CompletionFn fn, void* ctx)
    {
        m_complete = fn;
        m_complete_ctx = ctx;
    }

    // Empties the line and prints the prompt. Call at start-up and after
    // handling every event. The first one also asks the terminal its width
    // first (a cursor-position report, which feed() takes in; Ctrl-L asks
    // again).
    void start_prompt();
    size_t width() const { return m_width; }

    LineEvent feed(uint8_t byte);

    // The line being edited, or the finished one after LineEvent::Line (valid
    // until the next feed() or start_prompt()). Always NUL-terminated.
    const char* line() const { return m_buffer; }
    size_t length() const { return m_length; }
    size_t cursor() const { return m_cursor; }
    size_t limit() const { return m_limit; }

    // Prints `text` (one or more lines; a missing final newline is added) as
    // if it arrived before the prompt: erases the line being edited, prints,
    // then redraws prompt, line and cursor. While a command runs (after an
    // event, before start_prompt) the text is simply printed.
    void print_above(const char* text);
    // The same for `length` bytes of `text` (no NUL needed).
    void print_above(const char* text, size_t length);

    const LineHistory& history() const { return m_history; }

private:
    enum class Input : uint8_t { Normal, Escape, Csi, Ss3 };
    enum class State : uint8_t { Idle, Editing };
    // Up..End follow the order of their final bytes "ABCDHF" (cursor_key).
    // From Right on, act() moves the cursor or erases around it; Right..End
    // and Delete..KillEnd go to the same four places in the same order (one
    // forward, one back, the start, the end: the action's value mod 4).
    enum class Action : uint8_t {
        None, Insert, Enter, Cancel, Redraw, Complete, Up, Down, Right, Left, Home, End,
        Delete, Backspace, KillStart, KillEnd, KillWord,
    };

    static Action cursor_key(uint8_t final_byte);
    LineEvent process(uint8_t byte);
    LineEvent escape_byte(uint8_t byte, bool& reprocess);
    LineEvent act(Action action, uint8_t byte);
    LineEvent finish_line();
    void reset_line();

    bool insert(const char* text, size_t count);
    void erase(size_t from, size_t to);
    void redraw_tail();
    void redraw_line();
    void replace_line(const char* text, size_t count);
    void move(size_t from, size_t to);
    void write_span(size_t from, size_t to);
    void csi(size_t number, char final_byte);
    void history_step(int direction);
    void complete();

    Output& m_out;
    LineHistory& m_history;
    const char* m_prompt;
    size_t m_limit;

    size_t m_length { 0 };
    size_t m_cursor { 0 };
    State m_state { State::Idle };
    bool m_overflow { false };
    bool m_swallow_lf { false };

    Input m_input { Input::Normal };
    size_t m_escape_length { 0 };
    uint32_t m_escape_number { 0 };
    uint32_t m_escape_second { 0 };  // after ';': the column of a cursor-position report
    bool m_escape_number_done { false };

    // The terminal: the line wraps every m_width columns after the prompt
    // (80 until the terminal answers the cursor-position query).
    uint16_t m_width { 80 };
    uint8_t m_prompt_length { 0 };
    bool m_width_asked { false };

    // -1 while editing a fresh line, else the history entry shown.
    int m_browse { -1 };

    CompletionFn m_complete { nullptr };
    void* m_complete_ctx { nullptr };

    // Last, so every other field is within a one-byte displacement of `this`.
    char m_buffer[kCapacity + 1];
};

}  // namespace exo
