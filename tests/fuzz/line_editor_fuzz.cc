// The line editor fed random key bytes (escape sequences included) and,
// now and then, a log line printed above it, with its output played on a
// model VT100 row. After every byte: the row on the screen is exactly the
// prompt and the line, the terminal cursor sits on the editor's cursor, the
// line fits the limit and holds only printable characters; once a line ends
// (Enter, Ctrl-C, too long) the screen is on a fresh row. The editor may
// only send printable text, BS, BEL, CR, LF and the CSI sequences it
// documents: anything else stops the run. History holds at most its size,
// no blank entry. Tab completion offers a fixed word list (more words than
// the list holds, long ones, shared prefixes).
// Input: the limit and the prompt, then key bytes; 0xFF and a length byte
// print that many following bytes above the line instead (control bytes
// as CRLF line ends).
#include <stdint.h>
#include <string.h>

#include <string>

#include "shell/line_editor.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

constexpr uint8_t kPrintAbove = 0xFF;

// One terminal row as a VT100 shows it: the cursor's row only (the editor
// assumes prompt and line fit in one).
struct Terminal {
    std::string row;
    size_t col = 0;
    std::string escape;  // a control sequence being received

    static void write(void* ctx, const char* data, size_t length)
    {
        auto* t = static_cast<Terminal*>(ctx);
        for (size_t i = 0; i < length; ++i)
            t->byte(data[i]);
    }

    void byte(char c)
    {
        if (!escape.empty()) {
            escape += c;
            if (escape.size() == 2)
                FUZZ_CHECK(c == '[');
            else if (c < '0' || c > '9')
                sequence();
            return;
        }
        if (c == '\x1b') {
            escape = c;
        } else if (c == '\r') {
            col = 0;
        } else if (c == '\n') {
            row.clear();  // a new row; the column stays
        } else if (c == '\b') {
            col -= col > 0;
        } else if (c == '\a') {
            // bell
        } else {
            FUZZ_CHECK(c >= 0x20 && c <= 0x7E);
            if (row.size() < col)
                row.resize(col, ' ');
            row.replace(col, 1, 1, c);
            ++col;
        }
    }

    // ESC [ digits final: the cursor moves, erases and clear the editor uses.
    void sequence()
    {
        char final_byte = escape.back();
        std::string digits = escape.substr(2, escape.size() - 3);
        FUZZ_CHECK(digits.size() <= 4);
        size_t n = digits.empty() ? 1 : std::stoul(digits);
        escape.clear();
        switch (final_byte) {
        case 'D': col = n > col ? 0 : col - n; break;  // CUB
        case 'C': col += n; break;                     // CUF
        case 'K':                                      // EL 0
            FUZZ_CHECK(digits.empty());
            if (row.size() > col)
                row.resize(col);
            break;
        case 'H':  // CUP home: the top row, about to be cleared
            FUZZ_CHECK(digits.empty());
            row.clear();
            col = 0;
            break;
        case 'J':  // ED 2
            FUZZ_CHECK(digits == "2");
            row.clear();
            break;
        default: FUZZ_CHECK(!"unexpected control sequence");
        }
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

void check_editing(const LineEditor& editor, const Terminal& term, const std::string& prompt)
{
    FUZZ_CHECK(editor.length() <= editor.limit() && editor.cursor() <= editor.length());
    FUZZ_CHECK(strlen(editor.line()) == editor.length());
    for (size_t i = 0; i < editor.length(); ++i)
        FUZZ_CHECK(editor.line()[i] >= 0x20 && editor.line()[i] <= 0x7E);
    FUZZ_CHECK(term.escape.empty());
    FUZZ_CHECK(term.row == prompt + editor.line());
    FUZZ_CHECK(term.col == prompt.size() + editor.cursor());
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    uint8_t shape = in.byte();
    size_t limit = shape == 0xFF ? 1000 : shape;  // 0 and past the capacity clamp
    static const char* const kPrompts[] = { "exo> ", "", "(gdb) " };
    std::string prompt = kPrompts[in.byte() % 3];

    Terminal term;
    Output out(&Terminal::write, &term);
    LineHistory history;
    LineEditor editor(out, prompt.c_str(), history, limit);
    FUZZ_CHECK(editor.limit() == (limit == 0 || limit > LineEditor::kCapacity ? LineEditor::kCapacity : limit));
    if (in.flag())
        editor.set_completion(complete_words, nullptr);
    editor.start_prompt();
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
        if (event == LineEvent::None) {
            check_editing(editor, term, prompt);
            continue;
        }
        FUZZ_CHECK(term.row.empty() && term.col == 0);  // the line ended on its own row
        if (event == LineEvent::Line) {
            FUZZ_CHECK(strlen(editor.line()) == editor.length() && editor.length() <= editor.limit());
            if (strspn(editor.line(), " \t") != editor.length()) {
                FUZZ_CHECK(history.size() > 0 && strcmp(history.entry(0), editor.line()) == 0);
            }
        }
        check_history(history);
        editor.start_prompt();
        check_editing(editor, term, prompt);
    }
    return 0;
}
