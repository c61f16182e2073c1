#include "shell/command_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shell/json_writer.h"
#include "shell/tokenizer.h"

using namespace exo;

namespace {

void append(void* ctx, const char* data, size_t length)
{
    static_cast<std::string*>(ctx)->append(data, length);
}

// What the last command saw. Tests run single-threaded.
struct Seen {
    int calls = 0;
    bool json = false;
    std::vector<std::string> argv;
};
Seen g_seen;

void record(CommandContext& ctx, int argc, const char* const* argv)
{
    ++g_seen.calls;
    g_seen.json = ctx.json();
    g_seen.argv.clear();
    for (int i = 0; i < argc; ++i)
        g_seen.argv.emplace_back(argv[i]);
    EXPECT_EQ(argv[argc], nullptr);
}

Result<void> run_mem(CommandContext& ctx, int argc, const char* const* argv)
{
    record(ctx, argc, argv);
    if (ctx.json()) {
        JsonWriter json(ctx.out());
        json.begin_object();
        json.field_u64("free_kib", 1024);
        json.end_object();
        (void)json.end_line();
    } else {
        ctx.out().puts("free 1024 KiB");
        ctx.out().newline();
    }
    return {};
}

Result<void> run_pages(CommandContext& ctx, int argc, const char* const* argv)
{
    record(ctx, argc, argv);
    if (argc < 2)
        return {};
    auto addr = parse_u64(argv[1]);
    if (!addr.ok())
        return ctx.fail(addr.error(), "bad address", argv[1]);
    char hex[24];
    format_to(hex, sizeof hex, "0x%x", addr.value());
    ctx.out().puts(hex);
    ctx.out().newline();
    return {};
}

Result<void> run_fails(CommandContext& ctx, int argc, const char* const* argv)
{
    record(ctx, argc, argv);
    ctx.out().puts("partial output");
    ctx.out().newline();
    return Error::Timeout;
}

Result<void> run_reports(CommandContext& ctx, int argc, const char* const* argv)
{
    record(ctx, argc, argv);
    return ctx.fail(Error::Busy, "already done");
}

Result<void> run_usage(CommandContext& ctx, int argc, const char* const* argv)
{
    record(ctx, argc, argv);
    return ctx.usage_error();
}

// A fixed word list, then words known only at run time (driver names).
void init_words(Completions& out)
{
    out.add_all("deferred\0");
    out.add("serial");
    out.add("pci");
    out.add("ps2");
}

// Deliberately unsorted, as a linker section would deliver them.
const Command kCommands[] = {
    { .name = "pages\0pages [--json] [VADDR]\0mapped virtual ranges", .run = run_pages, .max_args = 1 },
    { .name = "mem\0mem [--json]\0physical memory and heap", .run = run_mem, .max_args = 0 },
    { .name = "init\0init deferred|NAME\0run pending optional inits",
        .run = run_usage,
        .complete_arg = init_words,
        .flags = Command::kNotInDebugger },
    { .name = "fails\0fails\0always times out", .run = run_fails },
    { .name = "reports\0reports\0reports its own error", .run = run_reports },
    { .name = "poweroff\0poweroff\0turn the machine off", .run = nullptr },
};

struct Fixture {
    Fixture() { g_seen = Seen {}; }

    Result<void> run(const std::string& line) { return table.execute(out, line.data(), line.size()); }
    std::vector<std::string> complete(const std::string& line, size_t cursor = std::string::npos)
    {
        if (cursor == std::string::npos)
            cursor = line.size();
        size_t start = cursor;
        while (start > 0 && line[start - 1] != ' ')
            --start;
        Completions c(line.data() + start, cursor - start);
        table.complete(line.c_str(), cursor, c);
        std::vector<std::string> words;
        for (size_t i = 0; i < c.count(); ++i)
            words.emplace_back(c[i]);
        return words;
    }

    std::string text;
    Output out { append, &text };
    CommandTable table { kCommands, sizeof kCommands / sizeof kCommands[0] };
};

using W = std::vector<std::string>;

}  // namespace

TEST(CommandTable, FindExactNamesOnly)
{
    Fixture f;
    ASSERT_NE(f.table.find("mem"), nullptr);
    EXPECT_EQ(f.table.find("mem")->run, run_mem);
    EXPECT_EQ(f.table.find("me"), nullptr);
    EXPECT_EQ(f.table.find("memx"), nullptr);
    EXPECT_EQ(f.table.find("MEM"), nullptr);
    EXPECT_EQ(f.table.find(nullptr), nullptr);
    ASSERT_NE(f.table.find("help"), nullptr);  // built in
    EXPECT_EQ(f.table.size(), 6u);
    EXPECT_STREQ(f.table[0].name, "pages");
}

TEST(CommandTable, LinkerSectionBoundsConstructor)
{
    CommandTable t(std::begin(kCommands), std::end(kCommands));
    EXPECT_EQ(t.size(), 6u);
    EXPECT_NE(t.find("poweroff"), nullptr);
}

TEST(CommandTable, DispatchPassesArgv)
{
    Fixture f;
    ASSERT_TRUE(f.run("pages 0x1000").ok());
    EXPECT_EQ(g_seen.calls, 1);
    EXPECT_EQ(g_seen.argv, (W { "pages", "0x1000" }));
    EXPECT_FALSE(g_seen.json);
    EXPECT_EQ(f.text, "0x1000\r\n");
}

TEST(CommandTable, JsonFlagIsExtractedAnywhere)
{
    for (const char* line : { "mem --json", "--json mem", "mem --json --json" }) {
        Fixture f;
        ASSERT_TRUE(f.run(line).ok()) << line;
        EXPECT_TRUE(g_seen.json) << line;
        EXPECT_EQ(g_seen.argv, (W { "mem" })) << line;
        EXPECT_EQ(f.text, "{\"free_kib\":1024}\r\n") << line;
    }
    Fixture f;
    ASSERT_TRUE(f.run("pages --json 0x10").ok());
    EXPECT_TRUE(g_seen.json);
    EXPECT_EQ(g_seen.argv, (W { "pages", "0x10" }));
    // Only the exact word counts.
    ASSERT_FALSE(f.run("mem --jsonx").ok());
}

TEST(CommandTable, UnknownCommand)
{
    Fixture f;
    auto r = f.run("frobnicate now");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::NotFound);
    EXPECT_EQ(f.text, "error: unknown command 'frobnicate' (try help)\r\n");
    EXPECT_EQ(g_seen.calls, 0);
}

TEST(CommandTable, EmptyLineDoesNothing)
{
    Fixture f;
    EXPECT_TRUE(f.run("").ok());
    EXPECT_TRUE(f.run("   ").ok());
    EXPECT_TRUE(f.run("--json").ok());
    EXPECT_EQ(f.text, "");
    EXPECT_EQ(g_seen.calls, 0);
}

TEST(CommandTable, CommandErrorGetsOneErrorLine)
{
    Fixture f;
    auto r = f.run("fails");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::Timeout);
    EXPECT_EQ(f.text, "partial output\r\nerror: fails: timeout\r\n");
}

TEST(CommandTable, DebuggerRefusesCommandsThatBlockOrFault)
{
    Fixture f;
    std::string line = "init deferred";
    auto r = f.table.execute(f.out, line.data(), line.size(), CommandOrigin::Debugger);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::Unsupported);
    EXPECT_EQ(f.text, "error: init: not from gdb: it blocks, sleeps, spawns threads or faults\r\n");
    // The same line from the shell runs; other commands run from gdb.
    f.text.clear();
    (void)f.run(line);
    EXPECT_EQ(f.text.find("not from gdb"), std::string::npos);
    f.text.clear();
    line = "mem";
    EXPECT_TRUE(f.table.execute(f.out, line.data(), line.size(), CommandOrigin::Debugger).ok());
    EXPECT_EQ(f.text.find("error"), std::string::npos);
}

TEST(CommandTable, SelfReportedErrorIsNotRepeated)
{
    Fixture f;
    auto r = f.run("reports");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::Busy);
    EXPECT_EQ(f.text, "error: reports: already done\r\n");

    Fixture g;
    r = g.run("pages 0xzz");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_EQ(g.text, "error: pages: bad address '0xzz'\r\n");
}

TEST(CommandTable, TooManyArgumentsIsUsageError)
{
    Fixture f;
    auto r = f.run("mem extra");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_EQ(f.text, "error: usage: mem [--json]\r\n");
    EXPECT_EQ(g_seen.calls, 0);

    Fixture g;
    ASSERT_FALSE(g.run("init").ok());
    EXPECT_EQ(g.text, "error: usage: init deferred|NAME\r\n");
}

TEST(Command, NameUsageAndSummaryShareOnePointer)
{
    constexpr Command command { .name = "x\0x ADDR [LEN]\0hex dump", .run = nullptr };
    EXPECT_STREQ(command.name, "x");
    EXPECT_STREQ(command.usage(), "x ADDR [LEN]");
    EXPECT_STREQ(command.summary(), "hex dump");
}

TEST(CommandContext, FailFormsShareOneLineShape)
{
    std::string text;
    Output out(append, &text);
    Command command { .name = "x\0x ADDR\0dump", .run = nullptr };
    CommandContext ctx(out, OutputFormat::Text, command, nullptr);
    EXPECT_EQ(ctx.fail(Error::NotMapped).error(), Error::NotMapped);
    EXPECT_TRUE(ctx.reported());
    EXPECT_EQ(ctx.fail(Error::Busy, "already done").error(), Error::Busy);
    EXPECT_EQ(ctx.fail(Error::InvalidArgument, "bad address", "0xzz").error(), Error::InvalidArgument);
    EXPECT_EQ(ctx.fail(Error::InvalidArgument, "bad address", nullptr).error(), Error::InvalidArgument);
    EXPECT_EQ(text, std::string("error: x: ") + error_name(Error::NotMapped) + "\r\n"
                        "error: x: already done\r\n"
                        "error: x: bad address '0xzz'\r\n"
                        "error: x: bad address\r\n");
}

TEST(CommandTable, CommandWithoutRunIsUnsupported)
{
    Fixture f;
    auto r = f.run("poweroff");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::Unsupported);
    EXPECT_EQ(f.text, "error: poweroff: unsupported\r\n");
}

TEST(CommandTable, TokenizerErrorsPrintOneLine)
{
    Fixture f;
    auto r = f.run("pages \"0x10");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_EQ(f.text, "error: unterminated quote\r\n");

    Fixture g;
    std::string many = "pages";
    for (int i = 0; i < 20; ++i)
        many += " x";
    r = g.run(many);
    EXPECT_EQ(r.error(), Error::TooLong);
    EXPECT_EQ(g.text, "error: too many arguments (max 16)\r\n");

    Fixture h;
    r = h.run(std::string(300, 'a'));
    EXPECT_EQ(r.error(), Error::TooLong);
    EXPECT_EQ(h.text, "error: line too long\r\n");
    EXPECT_EQ(g_seen.calls, 0);
}

TEST(CommandTable, DispatchRejectsOversizedArgv)
{
    Fixture f;
    std::vector<const char*> argv(Tokens::kMaxArgs + 1, "mem");
    argv.push_back(nullptr);
    auto r = f.table.dispatch(f.out, static_cast<int>(argv.size() - 1), argv.data());
    EXPECT_EQ(r.error(), Error::TooLong);
    EXPECT_EQ(g_seen.calls, 0);
}

// A command whose usage offers no --json refuses it: it would print text
// where a program reading one JSON line waits.
TEST(CommandTable, JsonRefusedWithoutAJsonForm)
{
    Fixture f;
    EXPECT_EQ(f.run("init deferred --json").error(), Error::Unsupported);
    EXPECT_EQ(f.text, "error: init: no --json form\r\n");
    Fixture g;
    EXPECT_TRUE(g.run("mem --json").ok());
}

TEST(CommandTable, HelpListsSortedAligned)
{
    Fixture f;
    ASSERT_TRUE(f.run("help").ok());
    EXPECT_EQ(f.text,
        "fails                   always times out\r\n"
        "help [--json] [cmd]     list commands, or show one command's usage\r\n"
        "init deferred|NAME      run pending optional inits\r\n"
        "mem [--json]            physical memory and heap\r\n"
        "pages [--json] [VADDR]  mapped virtual ranges\r\n"
        "poweroff                turn the machine off\r\n"
        "reports                 reports its own error\r\n");
}

TEST(CommandTable, HelpForOneCommand)
{
    Fixture f;
    ASSERT_TRUE(f.run("help pages").ok());
    EXPECT_EQ(f.text, "usage: pages [--json] [VADDR]\r\nmapped virtual ranges\r\n");
}

TEST(CommandTable, HelpUnknownCommandIsError)
{
    Fixture f;
    auto r = f.run("help nosuch");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::NotFound);
    EXPECT_EQ(f.text, "error: help: unknown command 'nosuch'\r\n");

    Fixture g;
    ASSERT_FALSE(g.run("help mem pages").ok());
    EXPECT_EQ(g.text, "error: usage: help [--json] [cmd]\r\n");
}

TEST(CommandTable, HelpJson)
{
    Fixture f;
    ASSERT_TRUE(f.run("help --json").ok());
    EXPECT_EQ(f.text,
        R"({"schema":1,"commands":[)"
        R"({"name":"fails","usage":"fails","summary":"always times out"},)"
        R"({"name":"help","usage":"help [--json] [cmd]","summary":"list commands, or show one command's usage"},)"
        R"({"name":"init","usage":"init deferred|NAME","summary":"run pending optional inits"},)"
        R"({"name":"mem","usage":"mem [--json]","summary":"physical memory and heap"},)"
        R"({"name":"pages","usage":"pages [--json] [VADDR]","summary":"mapped virtual ranges"},)"
        R"({"name":"poweroff","usage":"poweroff","summary":"turn the machine off"},)"
        R"({"name":"reports","usage":"reports","summary":"reports its own error"}]})"
        "\r\n");

    Fixture g;
    ASSERT_TRUE(g.run("help mem --json").ok());
    EXPECT_EQ(g.text, R"({"schema":1,"name":"mem","usage":"mem [--json]","summary":"physical memory and heap"})" "\r\n");
}

TEST(CommandTable, HelpWithEmptyTable)
{
    std::string text;
    Output out(append, &text);
    CommandTable empty(static_cast<const Command*>(nullptr), size_t { 0 });
    const char* argv[] = { "help", nullptr };
    ASSERT_TRUE(empty.dispatch(out, 1, argv).ok());
    EXPECT_EQ(text, "help [--json] [cmd]  list commands, or show one command's usage\r\n");
}

TEST(CommandTable, DuplicateNamesListedOnce)
{
    const Command dup[] = {
        { .name = "mem\0mem\0first", .run = run_mem },
        { .name = "mem\0mem\0second", .run = run_mem },
    };
    std::string text;
    Output out(append, &text);
    CommandTable t(dup, 2);
    t.print_help(out, OutputFormat::Text);
    EXPECT_EQ(text, "help [--json] [cmd]  list commands, or show one command's usage\r\nmem                  first\r\n");
}

TEST(CommandTable, CompleteCommandNames)
{
    Fixture f;
    EXPECT_EQ(f.complete(""), (W { "help", "pages", "mem", "init", "fails", "reports", "poweroff" }));
    EXPECT_EQ(f.complete("p"), (W { "pages", "poweroff" }));
    EXPECT_EQ(f.complete("he"), (W { "help" }));
    EXPECT_EQ(f.complete("x"), (W {}));
    EXPECT_EQ(f.complete("  me"), (W { "mem" }));
    // --json before the command does not count as the command word.
    EXPECT_EQ(f.complete("--json me"), (W { "mem" }));
}

TEST(CommandTable, CompleteFirstArgument)
{
    Fixture f;
    EXPECT_EQ(f.complete("init "), (W { "deferred", "serial", "pci", "ps2" }));
    EXPECT_EQ(f.complete("init p"), (W { "pci", "ps2" }));
    EXPECT_EQ(f.complete("init d"), (W { "deferred" }));
    EXPECT_EQ(f.complete("init --json d"), (W { "deferred" }));
    EXPECT_EQ(f.complete("help m"), (W { "mem" }));
    EXPECT_EQ(f.complete("mem "), (W {}));
    EXPECT_EQ(f.complete("nosuch "), (W {}));
    // Only the first argument completes.
    EXPECT_EQ(f.complete("init deferred "), (W {}));
}

TEST(CommandTable, CompleteJsonFlag)
{
    Fixture f;
    EXPECT_EQ(f.complete("mem -"), (W { "--json" }));
    EXPECT_EQ(f.complete("pages 0x1000 --j"), (W { "--json" }));
    EXPECT_EQ(f.complete("mem --x"), (W {}));
}

TEST(CommandTable, CompleteAtCursorInMiddle)
{
    Fixture f;
    // Cursor right after "in" in "in deferred".
    EXPECT_EQ(f.complete("in deferred", 2), (W { "init" }));
}

TEST(CommandTable, DrivesLineEditorCompletion)
{
    Fixture f;
    std::string echo;
    Output out(append, &echo);
    LineHistory history;
    LineEditor editor(out, "exo> ", history);
    editor.set_completion(CommandTable::completion_callback, &f.table);
    editor.start_prompt();
    for (char c : std::string("in\tse\t"))
        EXPECT_EQ(editor.feed(static_cast<uint8_t>(c)), LineEvent::None);
    EXPECT_STREQ(editor.line(), "init serial ");
    for (char c : std::string("\r"))
        EXPECT_EQ(editor.feed(static_cast<uint8_t>(c)), LineEvent::Line);
    // The finished line dispatches like any other.
    EXPECT_EQ(f.table.execute(f.out, editor.line(), editor.length()).error(), Error::InvalidArgument);
    EXPECT_EQ(g_seen.argv, (W { "init", "serial" }));
}
