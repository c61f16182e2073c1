#include "shell/line_editor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>
#include <string>
#include <vector>

using namespace exo;

namespace {

void append(void* ctx, const char* data, size_t length)
{
    static_cast<std::string*>(ctx)->append(data, length);
}

const std::string kUp = "\x1b[A";
const std::string kDown = "\x1b[B";
const std::string kRight = "\x1b[C";
const std::string kLeft = "\x1b[D";
const std::string kDelete = "\x1b[3~";

// An editor wired to a string, with the prompt already printed and the
// echo cleared, so tests compare only what their keys produced.
struct Fixture {
    explicit Fixture(size_t limit = LineEditor::kCapacity) : editor(out, "exo> ", history, limit)
    {
        editor.start_prompt();
        echo.clear();
    }

    // Feeds every byte; returns the events other than None.
    std::vector<LineEvent> type(const std::string& keys)
    {
        std::vector<LineEvent> events;
        for (char c : keys) {
            LineEvent e = editor.feed(static_cast<uint8_t>(c));
            if (e != LineEvent::None)
                events.push_back(e);
        }
        return events;
    }

    // Types keys and Enter; returns the finished line.
    std::string enter(const std::string& keys)
    {
        auto events = type(keys + "\r");
        EXPECT_EQ(events.size(), 1u);
        EXPECT_EQ(events.back(), LineEvent::Line);
        std::string line(editor.line(), editor.length());
        editor.start_prompt();
        return line;
    }

    std::string line() const { return std::string(editor.line(), editor.length()); }
    std::string take()
    {
        std::string s = echo;
        echo.clear();
        return s;
    }

    std::string echo;
    Output out { append, &echo };
    LineHistory history;
    LineEditor editor;
};

}  // namespace

TEST(LineEditor, StartPromptPrintsPrompt)
{
    std::string echo;
    Output out(append, &echo);
    LineHistory history;
    LineEditor editor(out, "exo> ", history);
    editor.start_prompt();
    // The first prompt also asks the terminal for its width first (far
    // right, report position, back to column 0).
    EXPECT_EQ(echo, "\x1b[999C\x1b[6n\rexo> ");
    EXPECT_EQ(editor.length(), 0u);
    EXPECT_STREQ(editor.line(), "");
}

TEST(LineEditor, TypingEchoesAndEnterEndsLine)
{
    Fixture f;
    EXPECT_TRUE(f.type("mem").empty());
    EXPECT_EQ(f.take(), "mem");
    auto events = f.type("\r");
    ASSERT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    EXPECT_EQ(f.take(), "\r\n");
    EXPECT_STREQ(f.editor.line(), "mem");
    EXPECT_EQ(f.editor.length(), 3u);
}

TEST(LineEditor, InsertInMiddleRedrawsTail)
{
    Fixture f;
    f.type("ac");
    f.take();
    f.type(kLeft);
    EXPECT_EQ(f.take(), "\b");
    f.type("b");
    // New char plus the rest of the line, then back over the tail.
    EXPECT_EQ(f.take(), "bc\b");
    f.type(kLeft + kLeft + "X");
    EXPECT_EQ(f.take(), "\b\bXabc\x1b[3D");
    EXPECT_EQ(f.line(), "Xabc");
    EXPECT_EQ(f.editor.cursor(), 1u);
}

TEST(LineEditor, BackspaceAtStartDoesNothing)
{
    Fixture f;
    f.type("\x7f\x08");
    EXPECT_EQ(f.take(), "");
    EXPECT_EQ(f.line(), "");
    f.type("ab" + kLeft + kLeft);
    f.take();
    f.type("\x7f");
    EXPECT_EQ(f.take(), "");
    EXPECT_EQ(f.line(), "ab");
}

TEST(LineEditor, BackspaceAtEndAndInMiddle)
{
    Fixture f;
    f.type("abc");
    f.take();
    f.type("\x7f");
    EXPECT_EQ(f.take(), "\b\x1b[J");
    EXPECT_EQ(f.line(), "ab");
    f.type("cd" + kLeft);
    f.take();
    f.type("\x08");  // BS works like DEL
    EXPECT_EQ(f.take(), "\bd\x1b[J\b");
    EXPECT_EQ(f.line(), "abd");
    EXPECT_EQ(f.editor.cursor(), 2u);
}

TEST(LineEditor, DeleteKeyAndCtrlD)
{
    Fixture f;
    f.type("abc\x01");  // Ctrl-A
    f.take();
    f.type(kDelete);
    EXPECT_EQ(f.take(), "bc\x1b[J\x1b[2D");
    EXPECT_EQ(f.line(), "bc");
    f.type("\x04");  // Ctrl-D
    EXPECT_EQ(f.line(), "c");
    f.type("\x05");  // Ctrl-E
    f.take();
    f.type(kDelete + "\x04");  // at end: nothing
    EXPECT_EQ(f.take(), "");
    EXPECT_EQ(f.line(), "c");
}

TEST(LineEditor, HomeEndVariants)
{
    const char* homes[] = { "\x01", "\x1b[H", "\x1b[1~", "\x1b[7~", "\x1bOH" };
    const char* ends[] = { "\x05", "\x1b[F", "\x1b[4~", "\x1b[8~", "\x1bOF" };
    for (const char* home : homes) {
        Fixture f;
        f.type("hello");
        f.take();
        f.type(home);
        EXPECT_EQ(f.editor.cursor(), 0u) << home;
        EXPECT_EQ(f.take(), "\x1b[5D");
        f.type("X");
        EXPECT_EQ(f.line(), "Xhello");
    }
    for (const char* end : ends) {
        Fixture f;
        f.type("hello\x01");
        f.take();
        f.type(end);
        EXPECT_EQ(f.editor.cursor(), 5u) << end;
        EXPECT_EQ(f.take(), "\x1b[5C");
        f.type("X");
        EXPECT_EQ(f.line(), "helloX");
    }
}

TEST(LineEditor, LeftRightStopAtEdges)
{
    Fixture f;
    f.type(kLeft + kRight);
    EXPECT_EQ(f.take(), "");
    f.type("ab" + kRight);
    EXPECT_EQ(f.take(), "ab");
    f.type(kLeft + kLeft + kLeft);
    EXPECT_EQ(f.take(), "\b\b");
    EXPECT_EQ(f.editor.cursor(), 0u);
    f.type(kRight + "\x06");  // Ctrl-F
    EXPECT_EQ(f.take(), "\x1b[1C\x1b[1C");
    EXPECT_EQ(f.editor.cursor(), 2u);
    f.type("\x02");  // Ctrl-B
    EXPECT_EQ(f.editor.cursor(), 1u);
    // Application-mode arrows.
    f.type("\x1bOC");
    EXPECT_EQ(f.editor.cursor(), 2u);
    f.type("\x1bOD");
    EXPECT_EQ(f.editor.cursor(), 1u);
}

TEST(LineEditor, CtrlUKillsToStart)
{
    Fixture f;
    f.type("hello world" + kLeft + kLeft + kLeft + kLeft + kLeft);
    f.take();
    f.type("\x15");
    EXPECT_EQ(f.take(), "\x1b[6Dworld\x1b[J\x1b[5D");
    EXPECT_EQ(f.line(), "world");
    EXPECT_EQ(f.editor.cursor(), 0u);
}

TEST(LineEditor, CtrlKKillsToEnd)
{
    Fixture f;
    f.type("hello world" + kLeft + kLeft + kLeft + kLeft + kLeft + kLeft);
    f.take();
    f.type("\x0b");
    EXPECT_EQ(f.take(), "\x1b[J");
    EXPECT_EQ(f.line(), "hello");
    f.type("\x0b");
    EXPECT_EQ(f.line(), "hello");
}

TEST(LineEditor, CtrlWDeletesPreviousWord)
{
    Fixture f;
    f.type("pages 0x1000  ");
    f.take();
    f.type("\x17");
    EXPECT_EQ(f.line(), "pages ");
    EXPECT_EQ(f.take(), "\x1b[8D\x1b[J");
    f.type("\x17");
    EXPECT_EQ(f.line(), "");
    f.type("\x17");
    EXPECT_EQ(f.line(), "");
    // In the middle: only the word before the cursor goes.
    f.type("one two three" + kLeft + kLeft + kLeft + kLeft + kLeft + kLeft);
    f.type("\x17");
    EXPECT_EQ(f.line(), "one  three");
    EXPECT_EQ(f.editor.cursor(), 4u);
}

TEST(LineEditor, CtrlCCancels)
{
    Fixture f;
    f.type("abc");
    f.take();
    auto events = f.type("\x03");
    ASSERT_EQ(events, std::vector<LineEvent> { LineEvent::Cancelled });
    EXPECT_EQ(f.take(), "^C\r\n");
    EXPECT_EQ(f.editor.length(), 0u);
    f.editor.start_prompt();
    EXPECT_EQ(f.take(), "exo> ");
    EXPECT_EQ(f.enter("uptime"), "uptime");
    EXPECT_EQ(f.history.size(), 1u);  // the cancelled line is not history
}

TEST(LineEditor, CtrlLRedraws)
{
    Fixture f;
    f.type("abc" + kLeft);
    f.take();
    f.type("\x0c");
    EXPECT_EQ(f.take(), "\x1b[H\x1b[2J\x1b[999C\x1b[6n\rexo> abc\b");
    EXPECT_EQ(f.line(), "abc");
}

TEST(LineEditor, CrLfIsOneLine)
{
    Fixture f;
    auto events = f.type("a\r\n");
    EXPECT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    EXPECT_EQ(f.line(), "a");
    f.editor.start_prompt();
    events = f.type("b\n");
    EXPECT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    EXPECT_EQ(f.line(), "b");
    f.editor.start_prompt();
    events = f.type("c\r");
    EXPECT_EQ(f.line(), "c");
    f.editor.start_prompt();
    // The LF arrives after the shell re-prompted: still swallowed.
    events = f.type("\nd\r\n");
    EXPECT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    EXPECT_EQ(f.line(), "d");
}

TEST(LineEditor, LoneTerminatorsAndEmptyLines)
{
    Fixture f;
    // LF CR is two line ends; CR CR too; each empty line is an event.
    auto events = f.type("\n\r\r\n\n");
    EXPECT_EQ(events.size(), 4u);
    for (auto e : events)
        EXPECT_EQ(e, LineEvent::Line);
    EXPECT_EQ(f.editor.length(), 0u);
    EXPECT_EQ(f.history.size(), 0u);
}

TEST(LineEditor, ProgramStyleBurstWithoutReprompt)
{
    // A script pastes lines faster than it reads prompts; the shell handles
    // each event before feeding the next byte.
    Fixture f;
    std::vector<std::string> lines;
    for (char c : std::string("mem --json\r\nboot\ndrivers\r\n")) {
        if (f.editor.feed(static_cast<uint8_t>(c)) == LineEvent::Line) {
            lines.push_back(f.line());
            f.editor.start_prompt();
        }
    }
    EXPECT_EQ(lines, (std::vector<std::string> { "mem --json", "boot", "drivers" }));
}

TEST(LineEditor, HistoryUpDownRestoresDraft)
{
    Fixture f;
    f.enter("one");
    f.enter("two");
    f.enter("two");  // consecutive duplicate: kept once
    f.enter("   ");  // blank: not kept
    f.enter("three");
    ASSERT_EQ(f.history.size(), 3u);
    EXPECT_STREQ(f.history.entry(0), "three");
    EXPECT_STREQ(f.history.entry(2), "one");
    EXPECT_EQ(f.history.entry(3), nullptr);

    f.type("draft" + kLeft);
    f.take();
    f.type(kUp);
    EXPECT_EQ(f.line(), "three");
    EXPECT_EQ(f.take(), "\x1b[4Dthree\x1b[J");
    EXPECT_EQ(f.editor.cursor(), 5u);
    f.type(kUp);
    EXPECT_EQ(f.line(), "two");
    EXPECT_EQ(f.take(), "\x1b[5Dtwo\x1b[J");
    f.type(kUp + kUp);
    EXPECT_EQ(f.line(), "one");
    f.type("\x10");  // Ctrl-P past the oldest: stays
    EXPECT_EQ(f.line(), "one");
    f.type(kDown);
    EXPECT_EQ(f.line(), "two");
    f.type("\x0e");  // Ctrl-N
    EXPECT_EQ(f.line(), "three");
    f.type(kDown);
    EXPECT_EQ(f.line(), "draft");
    f.type(kDown);
    EXPECT_EQ(f.line(), "draft");
    // Editing a recalled line and entering it adds it as the newest.
    f.type("\x15" + kUp + "X");
    EXPECT_EQ(f.enter(""), "threeX");
    EXPECT_STREQ(f.history.entry(0), "threeX");
    EXPECT_STREQ(f.history.entry(1), "three");
}

TEST(LineEditor, HistoryRingKeepsNewest32)
{
    Fixture f;
    for (int i = 0; i < 40; ++i)
        f.enter("cmd " + std::to_string(i));
    ASSERT_EQ(f.history.size(), LineHistory::kEntries);
    EXPECT_STREQ(f.history.entry(0), "cmd 39");
    EXPECT_STREQ(f.history.entry(31), "cmd 8");
    for (size_t i = 0; i < 40; ++i)
        f.type(kUp);
    EXPECT_EQ(f.line(), "cmd 8");
}

TEST(LineEditor, HistoryOnEmptyDoesNothing)
{
    Fixture f;
    f.type(kUp + kDown);
    EXPECT_EQ(f.take(), "");
    EXPECT_EQ(f.line(), "");
}

namespace {

void complete_words(void*, const char* line, size_t cursor, Completions& out)
{
    (void)line;
    (void)cursor;
    for (const char* w : { "help", "hello", "mem", "memtest" })
        out.add(w);
}

}  // namespace

TEST(LineEditor, TabSingleMatchCompletesWithSpace)
{
    Fixture f;
    f.editor.set_completion(complete_words, nullptr);
    f.type("hel");
    f.take();
    f.type("p\t");  // "help" is exact and unique
    EXPECT_EQ(f.line(), "help ");
    EXPECT_EQ(f.take(), "p ");
    f.type("memt\t");
    EXPECT_EQ(f.line(), "help memtest ");
}

TEST(LineEditor, TabMultipleInsertsCommonPrefixAndLists)
{
    Fixture f;
    f.editor.set_completion(complete_words, nullptr);
    f.type("h");
    f.take();
    f.type("\t");
    EXPECT_EQ(f.line(), "hel");
    EXPECT_EQ(f.take(), "el\r\nhelp  hello\r\nexo> hel");
    // Nothing more in common: list again, line unchanged.
    f.type("\t");
    EXPECT_EQ(f.take(), "\r\nhelp  hello\r\nexo> hel");
    EXPECT_EQ(f.line(), "hel");
}

TEST(LineEditor, TabNoMatchRingsBell)
{
    Fixture f;
    f.editor.set_completion(complete_words, nullptr);
    f.type("xyz");
    f.take();
    f.type("\t");
    EXPECT_EQ(f.take(), "\a");
    EXPECT_EQ(f.line(), "xyz");
}

TEST(LineEditor, TabWithoutCallbackRingsBell)
{
    Fixture f;
    f.type("he\t");
    EXPECT_EQ(f.take(), "he\a");
    EXPECT_EQ(f.line(), "he");
}

TEST(LineEditor, TabInMiddleCompletesWordBeforeCursor)
{
    Fixture f;
    f.editor.set_completion(complete_words, nullptr);
    f.type("me --json" + std::string(7, '\x02'));  // cursor after "me"
    f.take();
    f.type("\t");
    // "mem" and "memtest" share "mem": insert "m", list, redraw with cursor.
    EXPECT_EQ(f.line(), "mem --json");
    // The list goes below the line: to its end first.
    EXPECT_EQ(f.take(), "m --json\x1b[7D\x1b[7C\r\nmem  memtest\r\nexo> mem --json\x1b[7D");
    EXPECT_EQ(f.editor.cursor(), 3u);
}

TEST(LineEditor, TabCompletionRespectsLimit)
{
    Fixture f(4);
    f.editor.set_completion(complete_words, nullptr);
    f.type("memt");
    f.take();
    f.type("\t");
    EXPECT_EQ(f.take(), "\a");
    EXPECT_EQ(f.line(), "memt");
}

TEST(LineEditor, CompletionsFilterAndDeduplicate)
{
    Completions c("he", 2);
    c.add("help");
    c.add("hello");
    c.add("help");
    c.add("mem");
    c.add("h");
    c.add(nullptr);
    ASSERT_EQ(c.count(), 2u);
    EXPECT_STREQ(c[0], "help");
    EXPECT_STREQ(c[1], "hello");
    EXPECT_EQ(c[2], nullptr);
    EXPECT_EQ(c.common_length(), 3u);
    EXPECT_FALSE(c.truncated());

    Completions all("", 0);
    std::vector<std::string> words;
    for (size_t i = 0; i < Completions::kMaxCandidates + 5; ++i)
        words.push_back("w" + std::to_string(i));
    for (auto& w : words)
        all.add(w.c_str());
    EXPECT_EQ(all.count(), Completions::kMaxCandidates);
    EXPECT_TRUE(all.truncated());
    EXPECT_EQ(all.common_length(), 1u);
}

TEST(LineEditor, CompletionsAddAllTakesAPackedListAsAdd)
{
    Completions c("s", 1);
    c.add_all("pagefault\0ud\0stack\0spin\0stack\0");
    ASSERT_EQ(c.count(), 2u);
    EXPECT_STREQ(c[0], "stack");
    EXPECT_STREQ(c[1], "spin");
}

TEST(LineEditor, TenKilobyteLineIsTooLongThenNextLineWorks)
{
    Fixture f;
    auto events = f.type(std::string(10 * 1024, 'x'));
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(f.editor.length(), LineEditor::kCapacity);
    // Echo stops at the limit with one bell (a row break after each full
    // 80-column row of prompt and text).
    std::string echo = f.take();
    for (size_t at; (at = echo.find("\r\n")) != std::string::npos;)
        echo.erase(at, 2);
    EXPECT_EQ(echo, std::string(LineEditor::kCapacity, 'x') + "\a");
    events = f.type("\x7f" + kLeft + "\t\r\n");
    ASSERT_EQ(events, std::vector<LineEvent> { LineEvent::TooLong });
    EXPECT_EQ(f.take(), "\r\n");
    EXPECT_EQ(f.editor.length(), 0u);
    EXPECT_EQ(f.history.size(), 0u);
    f.editor.start_prompt();
    EXPECT_EQ(f.enter("help"), "help");
}

TEST(LineEditor, LineAtLimitIsAcceptedOneMoreIsNot)
{
    Fixture f(4);
    EXPECT_EQ(f.editor.limit(), 4u);
    EXPECT_EQ(f.enter("abcd"), "abcd");
    auto events = f.type("abcde\r");
    EXPECT_EQ(events, std::vector<LineEvent> { LineEvent::TooLong });
    f.editor.start_prompt();
    // Ctrl-C also ends an overlong line.
    events = f.type("abcdefgh\x03");
    EXPECT_EQ(events, std::vector<LineEvent> { LineEvent::Cancelled });
    f.editor.start_prompt();
    EXPECT_EQ(f.enter("ok"), "ok");
}

TEST(LineEditor, LimitIsClamped)
{
    std::string echo;
    Output out(append, &echo);
    LineHistory history;
    EXPECT_EQ(LineEditor(out, "> ", history, 0).limit(), LineEditor::kCapacity);
    EXPECT_EQ(LineEditor(out, "> ", history, 100000).limit(), LineEditor::kCapacity);
    EXPECT_EQ(LineEditor(out, nullptr, history, 10).limit(), 10u);
}

TEST(LineEditor, BinaryNoiseAndControlBytesAreIgnored)
{
    Fixture f;
    std::string noise;
    for (int b = 0x80; b <= 0xFF; ++b)
        noise.push_back(static_cast<char>(b));
    for (uint8_t b : { 0x00, 0x07, 0x11, 0x12, 0x13, 0x14, 0x16, 0x18, 0x19, 0x1A, 0x1C, 0x1D, 0x1E, 0x1F })
        noise.push_back(static_cast<char>(b));
    f.type(noise);
    EXPECT_EQ(f.take(), "");
    EXPECT_EQ(f.line(), "");
    EXPECT_EQ(f.enter("m" + noise + "em"), "mem");
}

TEST(LineEditor, EscapeSequenceSplitAcrossFeeds)
{
    Fixture f;
    f.type("ab");
    EXPECT_EQ(f.editor.feed(0x1b), LineEvent::None);
    EXPECT_EQ(f.editor.feed('['), LineEvent::None);
    EXPECT_EQ(f.line(), "ab");
    EXPECT_EQ(f.editor.feed('D'), LineEvent::None);
    EXPECT_EQ(f.editor.cursor(), 1u);
    f.editor.feed(0x1b);
    f.editor.feed('[');
    f.editor.feed('3');
    EXPECT_EQ(f.line(), "ab");
    f.editor.feed('~');
    EXPECT_EQ(f.line(), "a");
}

TEST(LineEditor, UnknownAndModifiedSequences)
{
    Fixture f;
    f.type("abc");
    f.take();
    // Insert key, F5, a private-mode report, Alt+x: all dropped.
    f.type("\x1b[2~\x1b[15~\x1b[?1;2c\x1bx\x1bOP");
    EXPECT_EQ(f.take(), "");
    EXPECT_EQ(f.line(), "abc");
    // Ctrl+Left (ESC[1;5D): modifiers ignored, acts as Left.
    f.type("\x1b[1;5D");
    EXPECT_EQ(f.editor.cursor(), 2u);
    // ESC ESC [ D: the first ESC is dropped, the sequence still works.
    f.type("\x1b\x1b[D");
    EXPECT_EQ(f.editor.cursor(), 1u);
}

TEST(LineEditor, OverlongEscapeIsBounded)
{
    Fixture f;
    // As many parameter bytes as allowed: still one (unknown) sequence.
    std::string junk = "\x1b[" + std::string(LineEditor::kMaxEscapeLength - 1, '1');
    f.type(junk);
    EXPECT_EQ(f.line(), "");
    EXPECT_EQ(f.take(), "");
    // The byte past the bound ends the sequence and counts as input again.
    f.type("5");
    EXPECT_EQ(f.line(), "5");
    f.type("\x15");
    // A line end at the bound is never lost.
    auto events = f.type(junk + "\r");
    EXPECT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    f.editor.start_prompt();
    EXPECT_EQ(f.enter("ok"), "ok");
}

TEST(LineEditor, LineEndInsideEscapeStillEndsLine)
{
    Fixture f;
    auto events = f.type("mem\x1b[1\r");
    ASSERT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    EXPECT_EQ(f.line(), "mem");
    f.editor.start_prompt();
    events = f.type("x\x1b\n");
    ASSERT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    EXPECT_EQ(f.line(), "x");
    f.editor.start_prompt();
    events = f.type("y\x1bO\r");
    ASSERT_EQ(events, std::vector<LineEvent> { LineEvent::Line });
    EXPECT_EQ(f.line(), "y");
}

TEST(LineEditor, PrintAboveRedrawsPromptLineAndCursor)
{
    Fixture f;
    f.type("abc" + kLeft);
    f.take();
    f.editor.print_above("[    1.000] usb: hello");
    EXPECT_EQ(f.take(), "\r\x1b[J[    1.000] usb: hello\r\nexo> abc\b");
    f.editor.print_above("two\r\nlines\r\n");
    EXPECT_EQ(f.take(), "\r\x1b[Jtwo\r\nlines\r\nexo> abc\b");
    EXPECT_EQ(f.line(), "abc");
    EXPECT_EQ(f.editor.cursor(), 2u);
    f.type("X");
    EXPECT_EQ(f.line(), "abXc");
}

TEST(LineEditor, PrintAboveWhileCommandRunsJustPrints)
{
    Fixture f;
    f.type("boot\r");
    f.take();
    f.editor.print_above("log");
    EXPECT_EQ(f.take(), "log\r\n");
    f.editor.print_above(nullptr);
    EXPECT_EQ(f.take(), "");
}

TEST(LineEditor, PrintAboveTakesALengthWithoutNul)
{
    Fixture f;
    f.type("ab");
    f.take();
    const char text[] = "log line\nnext";  // only the first 8 bytes are printed
    f.editor.print_above(text, 8);
    EXPECT_EQ(f.take(), "\r\x1b[Jlog line\r\nexo> ab");
    f.editor.print_above(text, 9);  // ends in '\n': no newline added
    EXPECT_EQ(f.take(), "\r\x1b[Jlog line\nexo> ab");
    EXPECT_EQ(f.line(), "ab");
}

TEST(LineEditor, LineStaysValidUntilNextFeed)
{
    Fixture f;
    f.type("abc\r");
    EXPECT_STREQ(f.editor.line(), "abc");
    f.editor.feed('x');  // no start_prompt: a fresh line begins anyway
    EXPECT_STREQ(f.editor.line(), "x");
}

TEST(LineEditor, RandomBytesKeepInvariants)
{
    std::mt19937 rng(1234);
    Fixture f(64);
    f.editor.set_completion(complete_words, nullptr);
    size_t lines = 0;
    for (int i = 0; i < 200000; ++i) {
        uint8_t byte = static_cast<uint8_t>(rng());
        // Bias towards the interesting bytes.
        if (rng() % 4 == 0)
            byte = static_cast<uint8_t>("\x1b[OA~3\r\n\x7f\t\x15\x17\x0b\x01\x05"[rng() % 15]);
        LineEvent e = f.editor.feed(byte);
        ASSERT_LE(f.editor.length(), f.editor.limit());
        ASSERT_LE(f.editor.cursor(), f.editor.length());
        ASSERT_EQ(f.editor.line()[f.editor.length()], '\0');
        for (size_t k = 0; k < f.editor.length(); ++k) {
            uint8_t c = static_cast<uint8_t>(f.editor.line()[k]);
            ASSERT_TRUE(c >= 0x20 && c <= 0x7e);
        }
        if (e != LineEvent::None) {
            ++lines;
            f.editor.start_prompt();
        }
        if (f.echo.size() > 1 << 16)
            f.echo.clear();
    }
    EXPECT_GT(lines, 100u);
    // Ctrl-C ends whatever state the noise left (escape, CR pending).
    EXPECT_EQ(f.type("\x03"), std::vector<LineEvent> { LineEvent::Cancelled });
    f.editor.start_prompt();
    EXPECT_EQ(f.enter("final"), "final");
}

TEST(LineHistory, AddSkipsBlankAndRepeatsAndCuts)
{
    LineHistory h;
    EXPECT_EQ(h.size(), 0u);
    EXPECT_EQ(h.entry(0), nullptr);
    EXPECT_EQ(h.entry_length(0), 0u);
    h.add("", 0);
    h.add(" \t ", 3);
    EXPECT_EQ(h.size(), 0u);
    h.add("mem", 3);
    h.add("mem", 3);
    h.add("memx", 3);  // only `length` bytes count: same as "mem"
    EXPECT_EQ(h.size(), 1u);
    h.add("boot", 4);
    h.add("mem", 3);  // not consecutive: kept again
    EXPECT_EQ(h.size(), 3u);
    EXPECT_STREQ(h.entry(0), "mem");
    EXPECT_STREQ(h.entry(1), "boot");
    EXPECT_EQ(h.entry_length(1), 4u);
    std::string huge(1000, 'z');
    h.add(huge.data(), huge.size());
    EXPECT_EQ(h.entry_length(0), LineHistory::kMaxLineLength);
    EXPECT_EQ(std::string(h.entry(0)), std::string(LineHistory::kMaxLineLength, 'z'));
}

TEST(LineHistory, SharedBetweenEditorsWithDifferentLimits)
{
    std::string echo;
    Output out(append, &echo);
    LineHistory history;
    LineEditor wide(out, "a> ", history);
    LineEditor narrow(out, "b> ", history, 4);
    wide.start_prompt();
    for (char c : std::string("pages 0x1000\r"))
        wide.feed(static_cast<uint8_t>(c));
    narrow.start_prompt();
    for (char c : kUp)
        narrow.feed(static_cast<uint8_t>(c));
    // Recalled but cut to what the narrow editor can hold.
    EXPECT_STREQ(narrow.line(), "page");
    EXPECT_EQ(narrow.cursor(), 4u);
}

// ---------------------------------------------------------------------------
// Lines wider than the terminal. A small VT model (autowrap with the pending
// wrap of a real terminal, relative moves clamped at the screen's edges,
// CHA, EL/ED) shows what the user sees; after every key the screen must show
// the prompt and the line, wrapped, with the cursor where the editor says.

namespace {

class Terminal {
public:
    explicit Terminal(size_t width) : m_width(width), m_rows(1, std::string(width, ' ')) {}

    void feed(const std::string& bytes)
    {
        for (size_t i = 0; i < bytes.size(); ++i) {
            char c = bytes[i];
            if (c == '\x1b') {
                i = escape(bytes, i + 1);
            } else if (c == '\r') {
                m_col = 0;
                m_pending = false;
            } else if (c == '\n') {
                down(1);
                m_pending = false;
            } else if (c == '\b') {
                if (m_col > 0)
                    --m_col;
                m_pending = false;
            } else if (c >= 0x20 && c < 0x7f) {
                if (m_pending) {
                    m_col = 0;
                    down(1);
                    m_pending = false;
                }
                m_rows[m_row][m_col] = c;
                if (m_col + 1 == m_width)
                    m_pending = true;
                else
                    ++m_col;
            }
        }
    }

    // The screen's text, rows joined, trailing blanks dropped.
    std::string text() const
    {
        std::string all;
        for (const std::string& r : m_rows)
            all += r;
        return all.substr(0, all.find_last_not_of(' ') + 1);
    }
    size_t cursor() const { return m_row * m_width + m_col + (m_pending ? 1 : 0); }

private:
    void down(size_t n)
    {
        m_row += n;
        while (m_rows.size() <= m_row)
            m_rows.emplace_back(m_width, ' ');
    }
    size_t escape(const std::string& b, size_t i)
    {
        if (b[i] == '7') {
            m_saved = { m_row, m_col, m_pending };
            return i;
        }
        if (b[i] == '8') {
            std::tie(m_row, m_col, m_pending) = m_saved;
            return i;
        }
        size_t n = 0;
        bool any = false;
        for (++i; isdigit(static_cast<unsigned char>(b[i])) || b[i] == ';'; ++i) {
            if (b[i] != ';') {
                n = n * 10 + static_cast<size_t>(b[i] - '0');
                any = true;
            }
        }
        size_t count = any ? n : 1;
        switch (b[i]) {
        case 'A': m_row = m_row > count ? m_row - count : 0; break;
        case 'B': down(count); break;
        case 'C': m_col = std::min(m_width - 1, m_col + count); break;
        case 'D': m_col = m_col > count ? m_col - count : 0; break;
        case 'G': m_col = std::min(m_width - 1, count - 1); break;
        case 'H': m_row = m_col = 0; break;
        case 'J':
            if (n == 2) {
                for (std::string& r : m_rows)
                    r.assign(m_width, ' ');
            } else {
                m_rows[m_row].replace(m_col, m_width - m_col, m_width - m_col, ' ');
                for (size_t r = m_row + 1; r < m_rows.size(); ++r)
                    m_rows[r].assign(m_width, ' ');
            }
            break;
        case 'K': m_rows[m_row].replace(m_col, m_width - m_col, m_width - m_col, ' '); break;
        default: break;  // 6n: no answer here
        }
        m_pending = false;
        return i;
    }

    size_t m_width;
    std::vector<std::string> m_rows;
    size_t m_row = 0;
    size_t m_col = 0;
    bool m_pending = false;
    std::tuple<size_t, size_t, bool> m_saved {};
};

struct WideFixture {
    explicit WideFixture(size_t width) : term(width)
    {
        editor.start_prompt();
        if (width != 80)
            editor.feed(0x1b), type("[24;" + std::to_string(width) + "R");  // the terminal's answer
        sync();
    }
    void type(const std::string& keys)
    {
        for (char c : keys)
            editor.feed(static_cast<uint8_t>(c));
    }
    void sync()
    {
        term.feed(echo);
        echo.clear();
    }
    void expect_screen(const std::string& where)
    {
        sync();
        std::string want = "exo> " + std::string(editor.line(), editor.length());
        ASSERT_EQ(term.text(), want.substr(0, want.find_last_not_of(' ') + 1)) << where;
        ASSERT_EQ(term.cursor(), 5 + editor.cursor()) << where;
    }
    std::string echo;
    Output out { append, &echo };
    LineHistory history;
    LineEditor editor { out, "exo> ", history };
    Terminal term;
};

}  // namespace

// The review's case: `uptime ` plus 100 b's in 80 columns, Home, Right x6,
// Ctrl-K: the screen must show `exo> uptime` alone, as Enter would run.
TEST(LineEditorWrap, KillToEndAcrossTheWrap)
{
    WideFixture f(80);
    f.type("uptime " + std::string(100, 'b'));
    f.expect_screen("typed");
    f.type("\x01");
    f.expect_screen("home");
    for (int i = 0; i < 6; ++i)
        f.type("\x06");
    f.expect_screen("right x6");
    f.type("\x0b");
    f.expect_screen("ctrl-k");
    EXPECT_EQ(std::string(f.editor.line()), "uptime");
}

TEST(LineEditorWrap, WidthFromTheCursorPositionReport)
{
    WideFixture f(37);
    EXPECT_EQ(f.editor.width(), 37u);
    f.type("\x1b[24;5R");  // too narrow to believe: kept
    EXPECT_EQ(f.editor.width(), 37u);
    EXPECT_EQ(f.editor.length(), 0u);  // a report is not typing
}

// Random editing at several widths: after every key the screen is right.
TEST(LineEditorWrap, RandomEditsKeepTheScreenRight)
{
    const std::vector<std::string> keys = {
        "a", "b", "x y", "\x02", "\x06", "\x01", "\x05", "\x7f", "\x04", "\x0b", "\x15", "\x17",
        kLeft, kRight, kDelete, "\x1b[H", "\x1b[F", std::string(30, 'z'), kUp, kDown,
    };
    for (size_t width : { 20u, 37u, 80u }) {
        WideFixture f(width);
        for (size_t n : { 3u, 15u, 75u, 150u })  // history lines of one to eight rows
            f.history.add(std::string(n, 'h').c_str(), n);
        std::mt19937 rng(static_cast<unsigned>(width));
        std::string typed;
        for (int step = 0; step < 3000; ++step) {
            const std::string& k = keys[rng() % keys.size()];
            size_t before = f.editor.cursor() * 1000 + f.editor.length();
            f.type(k);
            typed += k;
            f.expect_screen("width " + std::to_string(width) + " step " + std::to_string(step) + " cursor was "
                + std::to_string(before) + " key " + testing::PrintToString(k));
            if (f.editor.length() > 200)
                f.type("\x05\x15");
        }
    }
}

// A log line above a wrapped line: the whole line is erased first (from its
// first row), then printed below the log line again.
TEST(LineEditorWrap, LogLineAboveAWrappedLine)
{
    WideFixture f(20);
    f.type(std::string(50, 'q') + "\x01\x06\x06");
    f.expect_screen("typed");
    f.editor.print_above("log", 3);
    f.sync();
    std::string want = "log" + std::string(17, ' ') + "exo> " + std::string(50, 'q');
    EXPECT_EQ(f.term.text(), want);
    EXPECT_EQ(f.term.cursor(), 20u + 5 + 2);
}

// Enter or Ctrl-C with the cursor on a wrapped line's first row: the new
// row is below the whole line, not inside it (the command's output went over
// the line's rest).
TEST(LineEditorWrap, LineEndsBelowTheWholeLine)
{
    for (const char* key : { "\r", "\x03" }) {
        WideFixture f(20);
        f.type(std::string(50, 'q') + "\x01\x06\x06");
        f.expect_screen("typed");
        f.type(key);
        f.sync();
        std::string want = "exo> " + std::string(50, 'q') + (key[0] == '\x03' ? "^C" : "");
        EXPECT_EQ(f.term.text(), want) << testing::PrintToString(key);
        EXPECT_EQ(f.term.cursor(), 60u) << testing::PrintToString(key);  // row 3, column 0
    }
}
