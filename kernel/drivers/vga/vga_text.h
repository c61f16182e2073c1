// VGA 80x25 colour text mode console (IBM VGA Technical Reference, "Alphanumeric
// modes": one 16-bit cell per character, code point in the low byte, attribute
// in the high byte). It mirrors the shell's output, which speaks VT100, so it
// understands the ECMA-48 subset the line editor sends and drops any other
// control sequence. Pure: it writes to cells the caller provides (the mapped
// 0xB8000 buffer in the kernel, a plain array in tests).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/io.h"

namespace exo {

namespace vga {
constexpr size_t kColumns = 80;
constexpr size_t kRows = 25;
constexpr size_t kCells = kColumns * kRows;
constexpr uint64_t kTextBufferPhys = 0xB8000;  // colour text mode frame buffer
constexpr uint8_t kDefaultAttribute = 0x07;    // light grey on black

// CRT controller (VGA reference, "CRT Controller Registers"), colour I/O base.
constexpr uint16_t kCrtcIndex = 0x3D4;
constexpr uint16_t kCrtcData = 0x3D5;
constexpr uint8_t kCrtcCursorHigh = 0x0E;  // cursor location high byte
constexpr uint8_t kCrtcCursorLow = 0x0F;   // cursor location low byte
}  // namespace vga

struct CursorPosition {
    uint8_t row;
    uint8_t col;
};

class VgaText {
public:
    // Leaves the cells alone (keeps what the firmware printed) until clear().
    constexpr explicit VgaText(uint16_t* cells) : m_cells(cells) {}

    // Blanks the screen with the current attribute and homes the cursor.
    void clear();

    // Printable ASCII, CR, LF (also returns to column 0: the log may send bare
    // LF), BS, TAB; BEL and other control bytes are ignored. CSI A/B/C/D
    // (cursor moves), G (column), H/f (position), J/K (erase display/line),
    // m (SGR colours 0 1 22 30-37 39 40-47 49 90-97) are applied, other
    // escape sequences are swallowed whole. Writing the last column wraps
    // lazily, like a VT100, so a full line followed by CR LF does not leave
    // an empty line.
    void write(const char* data, size_t length);

    // Where the next character goes (the last column while a wrap is pending).
    CursorPosition cursor() const { return { m_row, m_col }; }
    uint8_t attribute() const { return m_attribute; }

private:
    enum class Input : uint8_t { Normal, Escape, Csi, CsiIgnored };
    static constexpr size_t kMaxParams = 4;
    static constexpr uint16_t kMaxParam = 999;  // saturate; the screen is smaller
    static constexpr size_t kMaxSequence = 32;  // give up on runaway sequences

    void byte(uint8_t c);
    void csi_byte(uint8_t c);
    void csi(uint8_t final_byte);
    void sgr();
    void newline();
    void fill(size_t from, size_t to);
    void erase(uint16_t mode, size_t start, size_t end);

    uint16_t* m_cells;
    uint8_t m_row { 0 };
    uint8_t m_col { 0 };
    bool m_wrap_pending { false };
    uint8_t m_attribute { vga::kDefaultAttribute };

    Input m_input { Input::Normal };
    uint8_t m_sequence_length { 0 };
    uint8_t m_param_index { 0 };
    uint16_t m_params[kMaxParams] {};
};

// Moves the blinking hardware cursor (CRTC registers 0x0E/0x0F hold the cell
// index). Out-of-range positions are ignored.
template<PortIo Io>
void update_hw_cursor(Io& io, uint8_t row, uint8_t col)
{
    if (row >= vga::kRows || col >= vga::kColumns)
        return;
    uint16_t cell = static_cast<uint16_t>(row * vga::kColumns + col);
    io.write8(vga::kCrtcIndex, vga::kCrtcCursorLow);
    io.write8(vga::kCrtcData, static_cast<uint8_t>(cell & 0xFF));
    io.write8(vga::kCrtcIndex, vga::kCrtcCursorHigh);
    io.write8(vga::kCrtcData, static_cast<uint8_t>(cell >> 8));
}

}  // namespace exo
