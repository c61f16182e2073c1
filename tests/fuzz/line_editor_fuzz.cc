// The line editor fed random key bytes (escape sequences included) and,
// now and then, a log line printed above it, with its output played on a
// model VT100 screen of a width the input picks (20 to 200 columns, told to
// the editor by answering its cursor-position query, or 80 unanswered).
// After every byte: from the row where the prompt starts (found from the
// cursor) the screen shows exactly the prompt and the line, wrapped across
// rows, with nothing below; the terminal cursor sits on the editor's cursor
// with no wrap pending; the line fits the limit and holds only printable
// characters; once a line ends (Enter, Ctrl-C, too long) the screen is on a
// fresh row with nothing below. The editor may only send printable text, BS,
// BEL, CR, LF and the CSI sequences it documents: anything else
// stops the run. History holds at most its size, no blank entry. Tab
// completion offers a fixed word list (more words than the list holds, long
// ones, shared prefixes).
// Input: the limit, the prompt, completion on/off, the width (0: 80 and no
// answer; else 20 + (n - 1) % 181, answered), then key bytes; 0xFF and a
// length byte print that many following bytes above the line instead
// (control bytes as CRLF line ends).
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "shell/line_editor.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

constexpr uint8_t kPrintAbove = 0xFF;

// A VT100-like screen of `width` columns and kHeight rows: autowrap with
// the pending wrap of a real terminal (a character written on the last
// column leaves the cursor there until the next one), LF scrolling at the
// bottom, CUU/CUD/CUF/CUB clamped to the screen, CHA, CUP home, ED 0 and 2,
// EL 0, and DSR 6 (ESC [ 6 n) answered by queueing ESC [ row ; col R in
// `replies` (the harness feeds those to the editor). Anything else the
// editor sends stops the run (ESC 7/8 too: the VGA mirror ignores them).
struct Terminal {
    static constexpr size_t kHeight = 24;

    explicit Terminal(size_t w) : width(w), rows(kHeight, std::string(w, ' ')) {}

    size_t width;
    std::vector<std::string> rows;
    size_t row = 0;
    size_t col = 0;
    bool pending = false;  // the last column was written: the wrap comes with the next character
    std::string escape;   // a control sequence being received
    std::string replies;  // what the terminal answered (6n)

    static void write(void* ctx, const char* data, size_t length)
    {
        auto* t = static_cast<Terminal*>(ctx);
        for (size_t i = 0; i < length; ++i)
            t->byte(data[i]);
    }

    void line_feed()
    {
        if (row + 1 < kHeight) {
            ++row;
        } else {
            rows.erase(rows.begin());
            rows.emplace_back(width, ' ');
        }
    }

    void byte(char c)
    {
        if (!escape.empty()) {
            escape += c;
            if (escape.size() == 2) {
                FUZZ_CHECK(c == '[');
            } else if ((c < '0' || c > '9') && c != ';') {
                sequence();
            }
            return;
        }
        if (c == '\x1b') {
            escape = c;
        } else if (c == '\r') {
            col = 0;
            pending = false;
        } else if (c == '\n') {
            line_feed();  // the column stays
            pending = false;
        } else if (c == '\b') {
            col -= col > 0;
            pending = false;
        } else if (c == '\a') {
            // bell
        } else {
            FUZZ_CHECK(c >= 0x20 && c <= 0x7E);
            if (pending) {
                col = 0;
                line_feed();
                pending = false;
            }
            rows[row][col] = c;
            if (col + 1 == width)
                pending = true;
            else
                ++col;
        }
    }

    // ESC [ digits final: the moves, erases and queries the editor uses.
    void sequence()
    {
        char final_byte = escape.back();
        std::string digits = escape.substr(2, escape.size() - 3);
        escape.clear();
        FUZZ_CHECK(digits.find(';') == std::string::npos && digits.size() <= 4);
        size_t n = digits.empty() ? 1 : std::stoul(digits);
        if (final_byte == 'n') {  // DSR 6: the cursor's position (the last column while a wrap is pending)
            FUZZ_CHECK(digits == "6");
            replies += "\x1b[" + std::to_string(row + 1) + ";" + std::to_string(col + 1) + "R";
            return;
        }
        pending = false;
        switch (final_byte) {
        case 'A': FUZZ_CHECK(n >= 1); row = n > row ? 0 : row - n; break;                       // CUU
        case 'B': FUZZ_CHECK(n >= 1); row = std::min(kHeight - 1, row + n); break;              // CUD
        case 'C': FUZZ_CHECK(n >= 1); col = std::min(width - 1, col + n); break;                // CUF
        case 'D': FUZZ_CHECK(n >= 1); col = n > col ? 0 : col - n; break;                       // CUB
        case 'G': FUZZ_CHECK(n >= 1 && !digits.empty()); col = std::min(width - 1, n - 1); break;  // CHA
        case 'H':  // CUP home
            FUZZ_CHECK(digits.empty());
            row = col = 0;
            break;
        case 'J':  // ED 0, ED 2
            FUZZ_CHECK(digits.empty() || digits == "2");
            for (size_t r = digits.empty() ? row + 1 : 0; r < kHeight; ++r)
                rows[r].assign(width, ' ');
            if (digits.empty())
                rows[row].replace(col, width - col, width - col, ' ');
            break;
        case 'K':  // EL 0
            FUZZ_CHECK(digits.empty());
            rows[row].replace(col, width - col, width - col, ' ');
            break;
        default: FUZZ_CHECK(!"unexpected control sequence");
        }
    }

    // Whether the screen from `first_row` on reads `text` and then only
    // blanks. Not traced for coverage: run after every key over up to 4,800
    // cells, its comparisons would take most of the time and find nothing.
    __attribute__((no_sanitize("coverage"))) bool reads(size_t first_row, const std::string& text) const
    {
        size_t n = 0;
        for (size_t r = first_row; r < kHeight; ++r) {
            for (char c : rows[r]) {
                if (c != (n < text.size() ? text[n++] : ' '))
                    return false;
            }
        }
        return n == text.size();
    }
};

// More candidates than Completions keeps, shared prefixes, a long word.
void complete_words(void*, const char*, size_t, Completions& out)
{
    static const char* const kWords[] = { "help", "heap", "mem", "memory", "memmap", "pages", "pci", "--json",
        "a", "ab", "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789" };
    for (const char* w : kWords)
        out.add(w);
    static char numbered[40][4];
    for (int i = 0; i < 40; ++i) {
        snprintf(numbered[i], sizeof numbered[i], "w%02d", i);
        out.add(numbered[i]);
    }
}

std::string trim(std::string s)
{
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
}

// The editing area starts on the row the cursor's offset in prompt + line
// puts it: from there to the bottom the screen reads prompt + line (trailing
// blanks aside) and nothing else, the cursor is at that offset, no wrap is
// pending.
void check_editing(const LineEditor& editor, const Terminal& term, const std::string& prompt)
{
    FUZZ_CHECK(editor.length() <= editor.limit() && editor.cursor() <= editor.length());
    FUZZ_CHECK(strlen(editor.line()) == editor.length());
    for (size_t i = 0; i < editor.length(); ++i)
        FUZZ_CHECK(editor.line()[i] >= 0x20 && editor.line()[i] <= 0x7E);
    FUZZ_CHECK(term.escape.empty() && term.replies.empty() && !term.pending);
    size_t at = prompt.size() + editor.cursor();
    FUZZ_CHECK(term.row >= at / term.width && term.col == at % term.width);
    FUZZ_CHECK(term.reads(term.row - at / term.width, trim(prompt + editor.line())));
}

void check_history(const LineHistory& h)
{
    FUZZ_CHECK(h.size() <= LineHistory::kEntries);
    for (size_t i = 0; i < h.size(); ++i) {
        const char* e = h.entry(i);
        size_t n = h.entry_length(i);
        FUZZ_CHECK(e != nullptr && n <= LineHistory::kMaxLineLength && strlen(e) == n);
        FUZZ_CHECK(strspn(e, " \t") != n);  // not blank
    }
    FUZZ_CHECK(h.entry(h.size()) == nullptr);
}

// The terminal's answers (the width query) go to the editor as input, as
// they arrive on the serial line right after the query.
void answer(LineEditor& editor, Terminal& term)
{
    std::string replies;
    replies.swap(term.replies);
    for (char c : replies)
        FUZZ_CHECK(editor.feed(static_cast<uint8_t>(c)) == LineEvent::None);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    uint8_t shape = in.byte();
    size_t limit = shape == 0xFF ? 1000 : shape;  // 0 and past the capacity clamp
    static const char* const kPrompts[] = { "exo> ", "", "(gdb) " };
    std::string prompt = kPrompts[in.byte() % 3];
    bool completion = in.flag();
    // 0: the terminal does not answer and is 80 wide; else it answers.
    uint8_t width_byte = in.byte();
    bool answers = width_byte != 0;
    size_t width = answers ? 20 + (width_byte - 1u) % 181 : 80;

    Terminal term(width);
    Output out(&Terminal::write, &term);
    LineHistory history;
    LineEditor editor(out, prompt.c_str(), history, limit);
    FUZZ_CHECK(editor.limit() == (limit == 0 || limit > LineEditor::kCapacity ? LineEditor::kCapacity : limit));
    if (completion)
        editor.set_completion(complete_words, nullptr);
    auto answered = [&] {
        if (answers)
            answer(editor, term);
        term.replies.clear();
        FUZZ_CHECK(editor.width() == width);
    };
    editor.start_prompt();
    answered();
    check_editing(editor, term, prompt);

    while (!in.empty()) {
        uint8_t key = in.byte();
        if (key == kPrintAbove) {
            // Printable text in CRLF-ended lines, as the log prints (the
            // serial line does not turn LF into CR LF).
            std::string text;
            for (char c : in.text(in.byte())) {
                if ((c & 0x7F) < 0x20)
                    text += "\r\n";
                else
                    text += static_cast<char>((c & 0x7F) == 0x7F ? '~' : c & 0x7F);
            }
            editor.print_above(text.data(), text.size());
            check_editing(editor, term, prompt);
            continue;
        }
        LineEvent event = editor.feed(key);
        answered();  // Ctrl-L asks again
        if (event == LineEvent::None) {
            check_editing(editor, term, prompt);
            continue;
        }
        // The line ended on a fresh row, nothing below.
        FUZZ_CHECK(term.col == 0 && !term.pending && term.reads(term.row, ""));
        if (event == LineEvent::Line) {
            FUZZ_CHECK(strlen(editor.line()) == editor.length() && editor.length() <= editor.limit());
            if (strspn(editor.line(), " \t") != editor.length()) {
                FUZZ_CHECK(history.size() > 0 && strcmp(history.entry(0), editor.line()) == 0);
            }
        }
        check_history(history);
        editor.start_prompt();
        answered();
        check_editing(editor, term, prompt);
    }
    return 0;
}
