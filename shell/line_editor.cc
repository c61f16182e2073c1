#include "shell/line_editor.h"

#include "kernel/lib/names.h"

namespace exo {

namespace {

// ASCII control codes (ECMA-6 / ISO 646) and the keys that send them.
constexpr uint8_t kCtrlA = 0x01;  // home
constexpr uint8_t kCtrlB = 0x02;  // left
constexpr uint8_t kCtrlC = 0x03;  // ETX: cancel
constexpr uint8_t kCtrlD = 0x04;  // delete under cursor
constexpr uint8_t kCtrlE = 0x05;  // end
constexpr uint8_t kCtrlF = 0x06;  // right
constexpr uint8_t kBackspace = 0x08;  // BS: Ctrl-H, some terminals' Backspace
constexpr uint8_t kTab = 0x09;
constexpr uint8_t kLineFeed = 0x0A;
constexpr uint8_t kCtrlK = 0x0B;  // kill to end
constexpr uint8_t kCtrlL = 0x0C;  // redraw
constexpr uint8_t kCarriageReturn = 0x0D;
constexpr uint8_t kCtrlN = 0x0E;  // history down
constexpr uint8_t kCtrlP = 0x10;  // history up
constexpr uint8_t kCtrlU = 0x15;  // kill to start
constexpr uint8_t kCtrlW = 0x17;  // kill previous word
constexpr uint8_t kEscape = 0x1B;
constexpr uint8_t kDel = 0x7F;    // what most terminals send for Backspace
constexpr uint8_t kFirstPrintable = 0x20;
constexpr uint8_t kLastPrintable = 0x7E;

// ECMA-48 section 5.4: a control sequence is CSI, parameter bytes 0x30-0x3F,
// intermediate bytes 0x20-0x2F, one final byte 0x40-0x7E.
constexpr uint8_t kCsiIntroducer = '[';
constexpr uint8_t kSs3Introducer = 'O';  // VT100 application cursor keys
constexpr uint8_t kParamFirst = 0x30;
constexpr uint8_t kParamLast = 0x3F;
constexpr uint8_t kIntermediateFirst = 0x20;
constexpr uint8_t kIntermediateLast = 0x2F;
constexpr uint8_t kFinalFirst = 0x40;
constexpr uint8_t kFinalLast = 0x7E;
constexpr uint32_t kMaxEscapeNumber = 9999;  // saturate; no key uses more

// VT220 "ESC [ n ~" editing keys.
constexpr uint32_t kTildeHome = 1;
constexpr uint32_t kTildeDelete = 3;
constexpr uint32_t kTildeEnd = 4;
constexpr uint32_t kTildeHomeRxvt = 7;
constexpr uint32_t kTildeEndRxvt = 8;

constexpr const char* kEraseToEnd = "\x1b[J";             // ED 0: the rows a wrapped line used too
// From column 0: go to the last column, report the position, back to
// column 0 (a console that ignores the report is left as it was). The
// answer (CSI row ; col R) gives the width.
constexpr const char* kAskWidth = "\x1b[999C\x1b[6n\r";
constexpr uint32_t kMinWidth = 20;
constexpr const char* kClearScreen = "\x1b[H\x1b[2J";     // CUP home, ED 2
constexpr char kBell = '\a';

constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }


}  // namespace

void Completions::add_all(const char* packed)
{
    for (; *packed != '\0'; packed += __builtin_strlen(packed) + 1)
        add(packed);
}

void Completions::add(const char* word)
{
    if (word == nullptr)
        return;
    size_t length = __builtin_strlen(word);
    if (length < m_prefix_length || __builtin_memcmp(word, m_prefix, m_prefix_length) != 0)
        return;
    for (size_t i = 0; i < m_count; ++i) {
        if (equals_name(word, length, m_items[i]))
            return;
    }
    if (m_count == kMaxCandidates) {
        m_truncated = true;
        return;
    }
    m_items[m_count++] = word;
}

size_t Completions::common_length() const
{
    if (m_count == 0)
        return 0;
    size_t length = __builtin_strlen(m_items[0]);
    for (size_t i = 1; i < m_count; ++i) {
        size_t j = 0;
        while (j < length && m_items[i][j] == m_items[0][j])
            ++j;
        length = j;
    }
    return length;
}

// Out of line: four callers (inlined, each copy cost more than the call).
[[gnu::noinline]] void LineEditor::reset_line()
{
    m_length = 0;
    m_cursor = 0;
    m_buffer[0] = '\0';
    m_overflow = false;
    m_browse = -1;
    m_input = Input::Normal;
}

void LineEditor::start_prompt()
{
    reset_line();
    m_state = State::Editing;
    m_prompt_length = static_cast<uint8_t>(__builtin_strlen(m_prompt));
    if (!m_width_asked) {
        m_width_asked = true;
        m_out.puts(kAskWidth);
    }
    m_out.puts(m_prompt);
}

LineEvent LineEditor::feed(uint8_t byte)
{
    // A CR LF pair is one line end; the CR already ended the line.
    if (m_swallow_lf) {
        m_swallow_lf = false;
        if (byte == kLineFeed)
            return LineEvent::None;
    }
    if (m_state == State::Idle) {
        reset_line();
        m_state = State::Editing;
    }
    if (m_input != Input::Normal) {
        bool reprocess = false;
        LineEvent event = escape_byte(byte, reprocess);
        if (!reprocess)
            return event;
    }
    return process(byte);
}

// Returns with `reprocess` set when the byte does not belong to the sequence
// (e.g. a CR in the middle): the sequence is dropped and the byte handled
// normally, so a garbled sequence never swallows a line end.
LineEvent LineEditor::escape_byte(uint8_t byte, bool& reprocess)
{
    // VT220 "ESC [ n ~" by n.
    static constexpr Action kTildeActions[] = {
        Action::None, Action::Home /* kTildeHome */, Action::None, Action::Delete /* kTildeDelete */,
        Action::End /* kTildeEnd */, Action::None, Action::None, Action::Home /* kTildeHomeRxvt */,
        Action::End /* kTildeEndRxvt */,
    };
    static_assert(kTildeHome == 1 && kTildeDelete == 3 && kTildeEnd == 4 && kTildeHomeRxvt == 7 && kTildeEndRxvt == 8);
    ++m_escape_length;
    if (m_escape_length > kMaxEscapeLength) {
        // Abandoned: this byte and what follows are ordinary input again.
        m_input = Input::Normal;
        reprocess = true;
        return LineEvent::None;
    }
    switch (m_input) {
    case Input::Escape:
        if (byte == kCsiIntroducer) {
            m_input = Input::Csi;
            m_escape_number = 0;
            m_escape_second = 0;
            m_escape_number_done = false;
        } else if (byte == kSs3Introducer) {
            m_input = Input::Ss3;
        } else if (byte == kEscape) {
            m_escape_length = 0;
        } else if (byte >= kFirstPrintable && byte <= kLastPrintable) {
            m_input = Input::Normal;  // Alt+key: not bound
        } else {
            m_input = Input::Normal;
            reprocess = true;
        }
        return LineEvent::None;
    case Input::Csi:
        if (byte >= kParamFirst && byte <= kParamLast) {
            // The first number picks a key; after ';' come modifiers (ignored)
            // or, in a cursor-position report, the column.
            uint32_t& n = m_escape_number_done ? m_escape_second : m_escape_number;
            if (byte >= '0' && byte <= '9') {
                n = n * 10 + (byte - '0');
                if (n > kMaxEscapeNumber)
                    n = kMaxEscapeNumber;
            } else {
                m_escape_number_done = true;
            }
            return LineEvent::None;
        }
        if (byte >= kIntermediateFirst && byte <= kIntermediateLast)
            return LineEvent::None;
        m_input = Input::Normal;
        if (byte < kFinalFirst || byte > kFinalLast) {
            reprocess = true;
            return LineEvent::None;
        }
        if (byte == 'R') {  // cursor-position report: the answer to kAskWidth
            if (m_escape_second >= kMinWidth)
                m_width = static_cast<uint16_t>(m_escape_second);
            return LineEvent::None;
        }
        if (byte != '~')
            return act(cursor_key(byte), byte);
        return act(m_escape_number < sizeof kTildeActions ? kTildeActions[m_escape_number] : Action::None, byte);
    case Input::Ss3:
        m_input = Input::Normal;
        if (byte < kFinalFirst || byte > kFinalLast) {
            reprocess = true;
            return LineEvent::None;
        }
        return act(cursor_key(byte), byte);
    case Input::Normal:
        break;
    }
    return LineEvent::None;
}

// Final byte of a cursor key, the same after CSI and SS3 (VT100 ANSI and
// application modes).
LineEditor::Action LineEditor::cursor_key(uint8_t final_byte)
{
    static constexpr char kCursorFinals[] = "ABCDHF";  // Up Down Right Left Home End
    for (uint8_t i = 0; i < sizeof kCursorFinals - 1; ++i) {
        if (kCursorFinals[i] == final_byte)
            return static_cast<Action>(static_cast<uint8_t>(Action::Up) + i);
    }
    return Action::None;
}

LineEvent LineEditor::process(uint8_t byte)
{
    // What each C0 control byte does; ESC starts a sequence (below).
    struct ControlTable {
        Action at[kFirstPrintable];
    };
    // alignas(1): the element's alignment, not the ABI's 16 for arrays and aggregates (padding).
    alignas(1) static constexpr ControlTable kControlActions = [] {
        ControlTable t {};
        t.at[kCtrlA] = Action::Home;
        t.at[kCtrlB] = Action::Left;
        t.at[kCtrlC] = Action::Cancel;
        t.at[kCtrlD] = Action::Delete;
        t.at[kCtrlE] = Action::End;
        t.at[kCtrlF] = Action::Right;
        t.at[kBackspace] = Action::Backspace;
        t.at[kTab] = Action::Complete;
        t.at[kLineFeed] = Action::Enter;
        t.at[kCtrlK] = Action::KillEnd;
        t.at[kCtrlL] = Action::Redraw;
        t.at[kCarriageReturn] = Action::Enter;
        t.at[kCtrlN] = Action::Down;
        t.at[kCtrlP] = Action::Up;
        t.at[kCtrlU] = Action::KillStart;
        t.at[kCtrlW] = Action::KillWord;
        return t;
    }();
    Action action = Action::None;
    if (byte >= kFirstPrintable && byte <= kLastPrintable)
        action = Action::Insert;
    else if (byte == kDel)
        action = Action::Backspace;
    else if (byte < kFirstPrintable)
        action = kControlActions.at[byte];
    // Other controls and 0x80-0xFF: Action::None, ignored.
    if (byte == kEscape) {
        m_input = Input::Escape;
        m_escape_length = 0;
        return LineEvent::None;
    }
    if (byte == kCarriageReturn)
        m_swallow_lf = true;
    return act(action, byte);
}

LineEvent LineEditor::act(Action action, uint8_t byte)
{
    // A line ends below all of itself, wherever the cursor was in it.
    if (action == Action::Enter || action == Action::Cancel)
        move(m_cursor, m_length);
    if (action == Action::Enter)
        return finish_line();
    if (action == Action::Cancel) {
        m_out.puts("^C\r\n");
        reset_line();
        m_state = State::Idle;
        return LineEvent::Cancelled;
    }
    // Past the limit the line is lost anyway: only its end matters.
    if (m_overflow)
        return LineEvent::None;

    switch (action) {
    case Action::Insert: {
        char c = static_cast<char>(byte);
        if (!insert(&c, 1)) {
            m_overflow = true;
            m_out.put(kBell);
        }
        break;
    }
    case Action::Up:
    case Action::Down: history_step(action == Action::Up ? +1 : -1); break;
    case Action::Redraw:
        m_out.puts(kClearScreen);
        m_out.puts(kAskWidth);
        redraw_line();
        break;
    case Action::Complete: complete(); break;
    default: break;
    }
    if (action < Action::Right)
        return LineEvent::None;

    // Where the key goes: the moving keys take the cursor there, the
    // editing keys remove what lies between there and the cursor.
    static_assert(static_cast<uint8_t>(Action::Right) % 4 == 0 && static_cast<uint8_t>(Action::Delete) % 4 == 0);
    size_t at = m_cursor;
    unsigned where = static_cast<uint8_t>(action) % 4;
    if (action == Action::KillWord) {
        while (at > 0 && is_blank(m_buffer[at - 1]))
            --at;
        while (at > 0 && !is_blank(m_buffer[at - 1]))
            --at;
    } else if (where == 0) {
        if (at < m_length)
            ++at;
    } else if (where == 1) {
        if (at > 0)
            --at;
    } else {
        at = where == 2 ? 0 : m_length;
    }
    if (action < Action::Delete) {
        move(m_cursor, at);
        m_cursor = at;
    } else {
        erase(at < m_cursor ? at : m_cursor, at < m_cursor ? m_cursor : at);
    }
    return LineEvent::None;
}

LineEvent LineEditor::finish_line()
{
    m_out.newline();
    m_state = State::Idle;
    m_input = Input::Normal;
    if (m_overflow) {
        reset_line();
        return LineEvent::TooLong;
    }
    m_history.add(m_buffer, m_length);
    m_browse = -1;
    return LineEvent::Line;
}

bool LineEditor::insert(const char* text, size_t count)
{
    if (count > m_limit - m_length)
        return false;
    __builtin_memmove(m_buffer + m_cursor + count, m_buffer + m_cursor, m_length - m_cursor);
    __builtin_memcpy(m_buffer + m_cursor, text, count);
    m_length += count;
    m_buffer[m_length] = '\0';
    // Terminal cursor is at the old cursor: print from there to the end.
    write_span(m_cursor, m_length);
    m_cursor += count;
    move(m_length, m_cursor);
    return true;
}

// Removes [from, to); requires from <= m_cursor <= to.
void LineEditor::erase(size_t from, size_t to)
{
    if (from >= to)
        return;
    move(m_cursor, from);
    __builtin_memmove(m_buffer + from, m_buffer + to, m_length - to);
    m_length -= to - from;
    m_buffer[m_length] = '\0';
    m_cursor = from;
    redraw_tail();
}

// Terminal cursor is at m_cursor: repaint from there, erase what is left
// of a longer old line, restore the cursor.
void LineEditor::redraw_tail()
{
    write_span(m_cursor, m_length);
    m_out.puts(kEraseToEnd);
    move(m_length, m_cursor);
}

// Terminal cursor is at column 0 of an empty row.
void LineEditor::redraw_line()
{
    m_out.puts(m_prompt);
    write_span(0, m_length);
    move(m_length, m_cursor);
}

// Swaps in another line (history), leaving the cursor at its end.
void LineEditor::replace_line(const char* text, size_t count)
{
    move(m_cursor, 0);
    __builtin_memmove(m_buffer, text, count);
    m_length = count;
    m_buffer[m_length] = '\0';
    write_span(0, m_length);
    m_out.puts(kEraseToEnd);
    m_cursor = m_length;
}

void LineEditor::csi(size_t number, char final_byte)
{
    (void)format(m_out.sink(), "\x1b[%u%c", number, final_byte);
}

// Moves the terminal cursor between two positions of the line. Within a
// row, left or right; across rows (a line longer than the terminal is
// wide), up or down and then to the column: relative moves stop at the
// edge of the screen, they do not follow the wrap.
void LineEditor::move(size_t from, size_t to)
{
    size_t a = m_prompt_length + from;
    size_t b = m_prompt_length + to;
    size_t row_a = a / m_width;
    size_t row_b = b / m_width;
    if (row_a != row_b) {
        csi(row_a > row_b ? row_a - row_b : row_b - row_a, row_a > row_b ? 'A' : 'B');  // CUU, CUD
        csi(b % m_width + 1, 'G');  // CHA
    } else if (a == b + 1) {
        m_out.put('\b');
    } else if (a > b) {
        csi(a - b, 'D');  // CUB
    } else if (b > a) {
        csi(b - a, 'C');  // CUF
    }
}

// Prints [from, to) of the line from the terminal cursor at `from`. Text
// that ends on the last column leaves the cursor there (the wrap is pending
// until the next character), so it steps to the next row, where the editor
// counts it.
void LineEditor::write_span(size_t from, size_t to)
{
    m_out.write(m_buffer + from, to - from);
    if (to > from && (m_prompt_length + to) % m_width == 0)
        m_out.newline();
}

void LineEditor::print_above(const char* text)
{
    if (text != nullptr)
        print_above(text, __builtin_strlen(text));
}

void LineEditor::print_above(const char* text, size_t length)
{
    bool editing = m_state == State::Editing;
    if (editing) {
        if ((m_prompt_length + m_cursor) / m_width != 0)
            move(m_cursor, 0);  // up to the line's first row
        m_out.write("\r\x1b[J", 4);  // column 0, erase the line's rows
    }
    m_out.write(text, length);
    if (length == 0 || text[length - 1] != '\n')
        m_out.newline();
    if (editing)
        redraw_line();
}

void LineHistory::add(const char* line, size_t length)
{
    if (length > kMaxLineLength)
        length = kMaxLineLength;
    size_t i = 0;
    while (i < length && is_blank(line[i]))
        ++i;
    if (i == length)
        return;  // blank lines are not worth recalling
    if (m_count > 0 && m_lengths[slot(0)] == length && __builtin_memcmp(m_lines[slot(0)], line, length) == 0)
        return;
    __builtin_memcpy(m_lines[m_next], line, length);
    m_lines[m_next][length] = '\0';
    m_lengths[m_next] = static_cast<uint16_t>(length);
    m_next = (m_next + 1) % kEntries;
    if (m_count < kEntries)
        ++m_count;
}

const char* LineHistory::entry(size_t index) const
{
    return index < m_count ? m_lines[slot(index)] : nullptr;
}

size_t LineHistory::entry_length(size_t index) const
{
    return index < m_count ? m_lengths[slot(index)] : 0;
}

void LineHistory::save_draft(const char* line, size_t length)
{
    if (length > kMaxLineLength)
        length = kMaxLineLength;
    __builtin_memcpy(m_draft, line, length);
    m_draft[length] = '\0';
    m_draft_length = length;
}

// +1 = older (Up), -1 = newer (Down). Going newer than the newest entry
// brings back the line that was being typed before browsing started.
void LineEditor::history_step(int direction)
{
    int target = m_browse + direction;
    if (target < -1 || target >= static_cast<int>(m_history.size()))
        return;
    if (m_browse == -1)
        m_history.save_draft(m_buffer, m_length);
    m_browse = target;
    const char* text = target == -1 ? m_history.draft() : m_history.entry(static_cast<size_t>(target));
    size_t length = target == -1 ? m_history.draft_length() : m_history.entry_length(static_cast<size_t>(target));
    // A line from an editor with a larger limit cannot be recalled whole.
    replace_line(text, length < m_limit ? length : m_limit);
}

void LineEditor::complete()
{
    if (m_complete == nullptr) {
        m_out.put(kBell);
        return;
    }
    size_t start = m_cursor;
    while (start > 0 && !is_blank(m_buffer[start - 1]))
        --start;
    Completions candidates(m_buffer + start, m_cursor - start);
    m_complete(m_complete_ctx, m_buffer, m_cursor, candidates);
    size_t typed = m_cursor - start;
    if (candidates.count() == 0) {
        m_out.put(kBell);
        return;
    }
    if (candidates.count() == 1) {
        const char* word = candidates[0];
        size_t rest = __builtin_strlen(word) - typed;
        bool need_space = m_cursor == m_length || m_buffer[m_cursor] != ' ';
        if (rest + (need_space ? 1 : 0) > m_limit - m_length) {
            m_out.put(kBell);
            return;
        }
        (void)insert(word + typed, rest);
        if (need_space)
            (void)insert(" ", 1);
        else
            act(Action::Right, 0);
        return;
    }
    size_t common = candidates.common_length();
    if (common > typed && !insert(candidates[0] + typed, common - typed)) {
        m_out.put(kBell);
        return;
    }
    move(m_cursor, m_length);  // the candidates go below the whole line
    m_out.newline();
    for (size_t i = 0; i < candidates.count(); ++i) {
        if (i != 0)
            m_out.write("  ", 2);
        m_out.puts(candidates[i]);
    }
    if (candidates.truncated())
        m_out.puts("  ...");
    m_out.newline();
    redraw_line();
}

}  // namespace exo
