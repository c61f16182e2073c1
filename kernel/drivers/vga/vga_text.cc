#include "kernel/drivers/vga/vga_text.h"

namespace exo {

namespace {

constexpr uint8_t kBell = 0x07;
constexpr uint8_t kBackspace = 0x08;
constexpr uint8_t kTab = 0x09;
constexpr uint8_t kLineFeed = 0x0A;
constexpr uint8_t kCarriageReturn = 0x0D;
constexpr uint8_t kEscape = 0x1B;
constexpr uint8_t kFirstPrintable = 0x20;
constexpr uint8_t kLastPrintable = 0x7E;
constexpr uint8_t kTabStop = 8;
constexpr uint16_t kBlank = ' ';

// ECMA-48 section 5.4: CSI, parameter bytes 0x30-0x3F, intermediate bytes
// 0x20-0x2F, final byte 0x40-0x7E.
constexpr uint8_t kCsiIntroducer = '[';
constexpr uint8_t kParamSeparator = ';';
constexpr uint8_t kIntermediateFirst = 0x20;
constexpr uint8_t kParamLast = 0x3F;
constexpr uint8_t kFinalFirst = 0x40;
constexpr uint8_t kFinalLast = 0x7E;

// Attribute byte: bits 0-3 foreground (3 = bright), 4-6 background, 7 blink.
constexpr uint8_t kBright = 0x08;
constexpr uint8_t kForegroundColour = 0x07;
constexpr uint8_t kForeground = 0x0F;
constexpr uint8_t kBackground = 0x70;
constexpr uint8_t kBackgroundShift = 4;
// ANSI colour order (black red green yellow blue magenta cyan white) to the
// VGA palette's (black blue green cyan red magenta brown grey).
constexpr uint8_t kAnsiToVga[] = { 0, 4, 2, 6, 1, 5, 3, 7 };

// SGR parameters (ECMA-48 section 8.3.117).
constexpr uint16_t kSgrReset = 0;
constexpr uint16_t kSgrBold = 1;
constexpr uint16_t kSgrNormal = 22;
constexpr uint16_t kSgrForeground = 30;
constexpr uint16_t kSgrDefaultForeground = 39;
constexpr uint16_t kSgrBackground = 40;
constexpr uint16_t kSgrDefaultBackground = 49;
constexpr uint16_t kSgrBrightForeground = 90;
constexpr uint16_t kColours = 8;

// ED / EL parameters.
constexpr uint16_t kEraseToEnd = 0;
constexpr uint16_t kEraseToCursor = 1;
constexpr uint16_t kEraseAll = 2;

constexpr uint8_t clamp_index(size_t value, size_t limit)
{
    return static_cast<uint8_t>(value < limit ? value : limit - 1);
}

}  // namespace

void VgaText::clear()
{
    fill(0, vga::kCells);
    m_row = 0;
    m_col = 0;
    m_wrap_pending = false;
}

void VgaText::write(const char* data, size_t length)
{
    for (size_t i = 0; i < length; ++i)
        byte(static_cast<uint8_t>(data[i]));
}

void VgaText::byte(uint8_t c)
{
    if (m_input == Input::Escape) {
        m_input = Input::Normal;
        if (c == kCsiIntroducer) {
            m_input = Input::Csi;
            m_sequence_length = 0;
            m_param_index = 0;
            __builtin_memset(m_params, 0, sizeof(m_params));
            return;
        }
        if (c >= kFirstPrintable)
            return;  // two-byte escape (ESC 7, ESC c, ...): not supported, dropped
        // A control byte cancels the escape and is acted on below.
    } else if (m_input != Input::Normal) {
        csi_byte(c);
        return;
    }

    if (c >= kFirstPrintable && c <= kLastPrintable) {
        if (m_wrap_pending)
            newline();
        m_cells[m_row * vga::kColumns + m_col] = static_cast<uint16_t>(c | (m_attribute << 8));
        if (m_col + 1u < vga::kColumns)
            ++m_col;
        else
            m_wrap_pending = true;
        return;
    }
    switch (c) {
    case kLineFeed: newline(); break;
    case kCarriageReturn:
        m_col = 0;
        m_wrap_pending = false;
        break;
    case kBackspace:
        if (m_col > 0)
            --m_col;
        m_wrap_pending = false;
        break;
    case kTab:
        m_col = clamp_index((m_col / kTabStop + 1u) * kTabStop, vga::kColumns);
        m_wrap_pending = false;
        break;
    case kEscape: m_input = Input::Escape; break;
    case kBell:
    default: break;  // other control bytes, DEL and bytes >= 0x80
    }
}

// Out of line: byte() and its own recursion into byte() had inlined it twice.
[[gnu::noinline]] void VgaText::csi_byte(uint8_t c)
{
    if (c >= kFinalFirst && c <= kFinalLast) {
        bool ignored = m_input == Input::CsiIgnored;
        m_input = Input::Normal;
        if (!ignored)
            csi(c);
        return;
    }
    if (c < kIntermediateFirst || c > kParamLast || ++m_sequence_length > kMaxSequence) {
        // Not part of a control sequence: abandon it; a control byte still acts.
        m_input = Input::Normal;
        if (c < kIntermediateFirst)
            byte(c);
        return;
    }
    if (c >= '0' && c <= '9') {
        uint16_t& p = m_params[m_param_index];
        p = static_cast<uint16_t>(p * 10 + (c - '0'));
        if (p > kMaxParam)
            p = kMaxParam;
    } else if (c == kParamSeparator) {
        if (m_param_index + 1u < kMaxParams)
            ++m_param_index;
    } else {
        m_input = Input::CsiIgnored;  // private marker (ESC [ ? 25 l) or intermediate
    }
}

void VgaText::csi(uint8_t final_byte)
{
    uint16_t first = m_params[0];
    size_t count = first != 0 ? first : 1;  // ECMA-48: 0 or missing means 1
    size_t line = m_row * vga::kColumns;
    if (final_byte != 'm')
        m_wrap_pending = false;
    if (final_byte >= 'A' && final_byte <= 'D') {
        // CUU, CUD (rows), CUF, CUB (columns): one move, clamped to the screen.
        bool column = final_byte >= 'C';
        uint8_t& at = column ? m_col : m_row;
        if (final_byte == 'A' || final_byte == 'D')
            at = static_cast<uint8_t>(count < at ? at - count : 0);
        else
            at = clamp_index(at + count, column ? vga::kColumns : vga::kRows);
        return;
    }
    switch (final_byte) {
    case 'G': m_col = clamp_index(count - 1, vga::kColumns); break;  // CHA
    case 'H':                                                                                 // CUP
    case 'f':                                                                                 // HVP
        m_row = clamp_index(count - 1, vga::kRows);
        m_col = clamp_index(m_params[1] != 0 ? m_params[1] - 1u : 0u, vga::kColumns);
        break;
    case 'J': erase(first, 0, vga::kCells); break;            // ED
    case 'K': erase(first, line, line + vga::kColumns); break;  // EL
    case 'm': sgr(); break;
    default: break;
    }
}

void VgaText::erase(uint16_t mode, size_t start, size_t end)
{
    size_t here = m_row * vga::kColumns + m_col;
    if (mode == kEraseToEnd)
        fill(here, end);
    else if (mode == kEraseToCursor)
        fill(start, here + 1);
    else if (mode == kEraseAll)
        fill(start, end);
}

void VgaText::sgr()
{
    for (size_t i = 0; i <= m_param_index; ++i) {
        uint16_t p = m_params[i];
        uint8_t a = m_attribute;
        if (p == kSgrReset)
            a = vga::kDefaultAttribute;
        else if (p == kSgrBold)
            a |= kBright;
        else if (p == kSgrNormal)
            a &= static_cast<uint8_t>(~kBright);
        else if (p >= kSgrForeground && p < kSgrForeground + kColours)
            a = static_cast<uint8_t>((a & ~kForegroundColour) | kAnsiToVga[p - kSgrForeground]);
        else if (p == kSgrDefaultForeground)
            a = static_cast<uint8_t>((a & ~kForegroundColour) | (vga::kDefaultAttribute & kForegroundColour));
        else if (p >= kSgrBackground && p < kSgrBackground + kColours)
            a = static_cast<uint8_t>((a & ~kBackground) | (kAnsiToVga[p - kSgrBackground] << kBackgroundShift));
        else if (p == kSgrDefaultBackground)
            a = static_cast<uint8_t>((a & ~kBackground) | (vga::kDefaultAttribute & kBackground));
        else if (p >= kSgrBrightForeground && p < kSgrBrightForeground + kColours)
            a = static_cast<uint8_t>((a & ~kForeground) | kBright | kAnsiToVga[p - kSgrBrightForeground]);
        m_attribute = a;
    }
}

void VgaText::newline()
{
    m_col = 0;
    m_wrap_pending = false;
    if (m_row + 1u < vga::kRows) {
        ++m_row;
        return;
    }
    __builtin_memmove(m_cells, m_cells + vga::kColumns, (vga::kCells - vga::kColumns) * sizeof(uint16_t));
    fill(vga::kCells - vga::kColumns, vga::kCells);
}

void VgaText::fill(size_t from, size_t to)
{
    uint16_t blank = static_cast<uint16_t>(kBlank | (m_attribute << 8));
    for (size_t i = from; i < to && i < vga::kCells; ++i)
        m_cells[i] = blank;
}

}  // namespace exo
