// The VGA text console, two ways. Any bytes: the cursor stays on the
// 80x25 screen after each, every cell ends up a printable character or a
// blank, and the cells are an exact-size heap block (ASan sees a write
// outside). The line editor's output: random keys go to a LineEditor whose
// output the console shows (as it mirrors the shell; it does not answer the
// width query, so the editor keeps 80 columns, the console's); after each
// key, from the row where the prompt starts (found from the cursor) the
// screen reads exactly the prompt and the line, wrapped at 80 columns, with
// nothing below, and the cursor sits at the editor's cursor; once a line
// ends the cursor is on a fresh row with nothing below. So the two agree on
// every sequence the editor sends.
// Input: a mode byte (bit 0: the line editor), then the bytes or keys.
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>

#include "kernel/drivers/vga/vga_text.h"
#include "shell/line_editor.h"
#include "tests/fuzz/fuzz_check.h"

using namespace exo;

namespace {

void check_cursor(const VgaText& vga)
{
    CursorPosition at = vga.cursor();
    FUZZ_CHECK(at.row < vga::kRows && at.col < vga::kColumns);
}

void check_cells(const uint16_t* cells)
{
    for (size_t i = 0; i < vga::kCells; ++i) {
        uint8_t c = static_cast<uint8_t>(cells[i]);
        FUZZ_CHECK(c >= 0x20 && c <= 0x7E);
    }
}

// Whether the screen from `row` on reads `text` and then only blanks. Not
// traced for coverage: run after every key over up to 2,000 cells, its
// comparisons took most of the time and find nothing.
__attribute__((no_sanitize("coverage"))) bool reads(const uint16_t* cells, size_t row, const std::string& text)
{
    size_t n = 0;
    for (size_t i = row * vga::kColumns; i < vga::kCells; ++i) {
        char c = static_cast<char>(cells[i]);
        if (c != (n < text.size() ? text[n++] : ' '))
            return false;
    }
    return n == text.size();
}

void to_vga(void* ctx, const char* data, size_t length) { static_cast<VgaText*>(ctx)->write(data, length); }

void words(void*, const char*, size_t, Completions& out)
{
    for (const char* w : { "help", "heap", "mem", "memory", "pages", "pci" })
        out.add(w);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    std::unique_ptr<uint16_t[]> cells(new uint16_t[vga::kCells]);
    for (size_t i = 0; i < vga::kCells; ++i)
        cells[i] = static_cast<uint16_t>('#' | 0x1F00);  // what the firmware left
    VgaText vga(cells.get());
    vga.clear();
    check_cells(cells.get());

    if ((data[0] & 1) == 0) {
        for (size_t i = 1; i < size; ++i) {
            vga.write(reinterpret_cast<const char*>(data + i), 1);
            check_cursor(vga);
        }
        check_cells(cells.get());
        return 0;
    }

    // The shell's line editor on the console, lines wrapping at 80 columns.
    const std::string prompt = "exo> ";
    Output out(to_vga, &vga);
    LineHistory history;
    LineEditor editor(out, prompt.c_str(), history);
    editor.set_completion(words, nullptr);
    auto screen_from_is = [&](size_t row, const std::string& text) { return reads(cells.get(), row, text); };
    auto check_editing = [&] {
        check_cursor(vga);
        CursorPosition at = vga.cursor();
        size_t offset = prompt.size() + editor.cursor();
        FUZZ_CHECK(at.row >= offset / vga::kColumns && at.col == offset % vga::kColumns);
        std::string shown = prompt + editor.line();
        shown.erase(shown.find_last_not_of(' ') + 1);
        FUZZ_CHECK(screen_from_is(at.row - offset / vga::kColumns, shown));
    };
    editor.start_prompt();
    check_editing();
    for (size_t i = 1; i < size; ++i) {
        if (editor.feed(data[i]) != LineEvent::None) {
            check_cursor(vga);
            FUZZ_CHECK(vga.cursor().col == 0 && screen_from_is(vga.cursor().row, ""));  // a fresh row
            editor.start_prompt();
        }
        check_editing();
    }
    check_cells(cells.get());
    return 0;
}
