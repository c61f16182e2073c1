// The shell's command table over a table of recording commands: any line
// (from the shell or from gdb's `monitor`), any argv, any Tab position.
// execute() must reach the same verdict as the documented rules applied to
// the reference tokenizer's words: the error line for a bad quote, too many
// words or a long line; --json removed anywhere (and seen by the command);
// an unknown name; a usage error past max_args; a command without a body;
// --json for a command whose usage line does not offer it; one refused from
// the debugger; else the command runs with exactly those arguments and its
// error, unless it reported its own, is printed once. Output ends in CRLF.
// complete() offers exactly the words the rules give (command names, help's
// argument, what a command's completion function adds, fixed words through
// Completions::add_all included, --json), each once and each starting with
// the word typed.
// Input: operations (execute a line / dispatch an argv / complete at a cursor).
#include <stdint.h>
#include <string.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "shell/command_table.h"
#include "shell/tokenizer.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/reference_tokenizer.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

// What the last command saw.
struct Seen {
    int calls = 0;
    bool json = false;
    std::vector<std::string> argv;
};
Seen g_seen;

Result<void> record(CommandContext& ctx, int argc, const char* const* argv)
{
    ++g_seen.calls;
    g_seen.json = ctx.json();
    g_seen.argv.assign(argv, argv + argc);
    FUZZ_CHECK(argv[argc] == nullptr);
    ctx.out().puts("ran");
    ctx.out().newline();
    return {};
}

Result<void> fails(CommandContext& ctx, int argc, const char* const* argv)
{
    (void)record(ctx, argc, argv);
    return Error::Timeout;
}

Result<void> reports(CommandContext& ctx, int argc, const char* const* argv)
{
    (void)record(ctx, argc, argv);
    return ctx.fail(Error::Busy, "already done", argc > 1 ? argv[1] : nullptr);
}

void driver_names(Completions& out)
{
    for (const char* name : { "uart", "pci", "pit", "pic" })
        out.add(name);
}

// Fixed first-argument words, packed as kernel commands keep them.
constexpr const char kInitWords[] = "deferred\0all\0";
void init_words(Completions& out) { out.add_all(kInitWords); }

const Command kCommands[] = {
    { .name = "mem\0mem [--json]\0memory statistics", .run = record, .max_args = 0 },
    { .name = "memmap\0memmap [all]\0the memory map", .run = record, .max_args = 1 },
    { .name = "pages\0pages [--json] [VADDR]\0mappings", .run = record, .max_args = 1 },
    { .name = "init\0init deferred\0run deferred tasks", .run = record, .complete_arg = init_words },
    { .name = "drivers\0drivers [--json] [NAME]\0drivers", .run = record, .complete_arg = driver_names },
    { .name = "watch\0watch CMD\0repeat", .run = record, .flags = Command::kNotInDebugger },
    { .name = "fails\0fails [--json]\0times out", .run = fails },
    { .name = "reports\0reports [X]\0reports its own error", .run = reports },
    { .name = "nop\0nop [--json]\0no body", .run = nullptr },
    { .name = "help\0help\0shadowed by the built-in", .run = record },
    { .name = "pages\0pages\0a second entry of that name", .run = record },
};
const CommandTable kTable(kCommands, sizeof kCommands / sizeof kCommands[0]);

void append(void* ctx, const char* data, size_t length) { static_cast<std::string*>(ctx)->append(data, length); }

// The first entry of that name, as find() picks it; null for help (built in).
const Command* command_named(const std::string& name)
{
    for (const Command& c : kCommands) {
        if (name == c.name)
            return name == "help" ? nullptr : &c;
    }
    return nullptr;
}

// Output ends each line with CRLF. (Names the user typed are echoed as they
// are, so only the end is checked.)
bool ends_line(const std::string& out)
{
    return out.empty() || (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0);
}

// dispatch() after --json is removed: what must happen to `args`.
void check_dispatch(const std::vector<std::string>& words, CommandOrigin origin, Result<void> got,
    const std::string& out, int calls_before)
{
    std::vector<std::string> args;
    bool json = false;
    for (const std::string& w : words) {
        if (w == CommandTable::kJsonFlag)
            json = true;
        else
            args.push_back(w);
    }
    FUZZ_CHECK(ends_line(out));
    if (args.empty()) {
        FUZZ_CHECK(got.ok() && out.empty());
        return;
    }
    auto fails_with = [&](Error e, const std::string& text) {
        FUZZ_CHECK(!got.ok() && got.error() == e && out == text + "\r\n" && g_seen.calls == calls_before);
    };
    const std::string& name = args[0];
    if (name == "help") {
        if (args.size() > 2)
            return fails_with(Error::InvalidArgument, "error: usage: help [--json] [cmd]");
        if (args.size() == 2 && command_named(args[1]) == nullptr && args[1] != "help")
            return fails_with(Error::NotFound, "error: help: unknown command '" + args[1] + "'");
        FUZZ_CHECK(got.ok() && !out.empty() && g_seen.calls == calls_before);
        if (json)  // one JSON line, schema first
            FUZZ_CHECK(out.compare(0, 11, "{\"schema\":1") == 0 && out.find('\n') == out.size() - 1
                && out.compare(out.size() - 3, 3, "}\r\n") == 0);
        return;
    }
    const Command* c = command_named(name);
    if (c == nullptr)
        return fails_with(Error::NotFound, "error: unknown command '" + name + "' (try help)");
    std::string usage = c->usage();
    if (c->max_args != Command::kAnyArgs && args.size() - 1 > c->max_args)
        return fails_with(Error::InvalidArgument, "error: usage: " + usage);
    if (c->run == nullptr)
        return fails_with(Error::Unsupported, "error: " + name + ": unsupported");
    if (json && usage.find("--json") == std::string::npos)
        return fails_with(Error::Unsupported, "error: " + name + ": no --json form");
    if (origin == CommandOrigin::Debugger && (c->flags & Command::kNotInDebugger))
        return fails_with(Error::Unsupported,
            "error: " + name + ": not from gdb: it blocks, sleeps, spawns threads or faults");
    FUZZ_CHECK(g_seen.calls == calls_before + 1 && g_seen.argv == args && g_seen.json == json);
    if (c->run == fails) {
        FUZZ_CHECK(!got.ok() && got.error() == Error::Timeout && out == "ran\r\nerror: " + name + ": timeout\r\n");
    } else if (c->run == reports) {
        std::string arg = args.size() > 1 ? " '" + args[1] + "'" : "";
        FUZZ_CHECK(!got.ok() && got.error() == Error::Busy && out == "ran\r\nerror: reports: already done" + arg + "\r\n");
    } else {
        FUZZ_CHECK(got.ok() && out == "ran\r\n");
    }
}

void execute(FuzzInput& in)
{
    CommandOrigin origin = in.flag() ? CommandOrigin::Debugger : CommandOrigin::Shell;
    std::string line = in.text(in.below(300));
    std::unique_ptr<char[]> copy(new char[line.size()]);  // exact size, no NUL
    memcpy(copy.get(), line.data(), line.size());
    std::string out;
    Output output(append, &out);
    int calls = g_seen.calls;
    Result<void> got = kTable.execute(output, copy.get(), line.size(), origin);

    exo::fuzz::ReferenceWords want = exo::fuzz::reference_tokenize(line, Tokens::kMaxLineLength, Tokens::kMaxArgs);
    if (!want.ok) {
        const char* text = want.error == Error::InvalidArgument ? "error: unterminated quote"
            : line.size() > Tokens::kMaxLineLength              ? "error: line too long"
                                                                : "error: too many arguments (max 16)";
        FUZZ_CHECK(!got.ok() && got.error() == want.error && out == std::string(text) + "\r\n");
        FUZZ_CHECK(g_seen.calls == calls);
        return;
    }
    for (std::string& w : want.words)
        w = w.c_str();  // the command sees C strings: a NUL ends a word
    check_dispatch(want.words, origin, got, out, calls);
}

void dispatch(FuzzInput& in)
{
    CommandOrigin origin = in.flag() ? CommandOrigin::Debugger : CommandOrigin::Shell;
    static const char* const kWords[] = { "mem", "memmap", "pages", "init", "drivers", "watch", "fails",
        "reports", "nop", "help", "--json", "0x1000", "", "x" };
    constexpr size_t kWordCount = sizeof kWords / sizeof kWords[0];
    size_t argc = in.below(Tokens::kMaxArgs + 4);
    std::vector<const char*> argv;
    std::vector<std::string> words;
    for (size_t i = 0; i < argc; ++i) {
        argv.push_back(kWords[in.below(kWordCount)]);
        words.push_back(argv.back());
    }
    argv.push_back(nullptr);
    std::string out;
    Output output(append, &out);
    int calls = g_seen.calls;
    Result<void> got = kTable.dispatch(output, static_cast<int>(argc), argv.data(), origin);
    if (argc > Tokens::kMaxArgs) {
        FUZZ_CHECK(!got.ok() && got.error() == Error::TooLong && out == "error: too many arguments\r\n");
        return;
    }
    check_dispatch(words, origin, got, out, calls);
}

void complete(FuzzInput& in)
{
    std::string line = in.text(in.below(80));
    size_t cursor = in.below(line.size() + 1);
    std::unique_ptr<char[]> copy(new char[line.size() + 1]);
    memcpy(copy.get(), line.c_str(), line.size() + 1);
    size_t start = cursor;
    while (start > 0 && line[start - 1] != ' ' && line[start - 1] != '\t')
        --start;
    Completions got(copy.get() + start, cursor - start);
    kTable.complete(copy.get(), cursor, got);

    // The rules: words before the one under the cursor, --json not counted.
    std::vector<std::string> before;
    std::string word;
    for (size_t i = 0; i <= start; ++i) {
        if (i == start || line[i] == ' ' || line[i] == '\t') {
            if (!word.empty() && word != CommandTable::kJsonFlag)
                before.push_back(word);
            word.clear();
        } else {
            word += line[i];
        }
    }
    std::string prefix = line.substr(start, cursor - start);
    std::vector<std::string> offered;
    auto offer_names = [&] {
        offered.push_back("help");
        for (const Command& c : kCommands)
            offered.push_back(c.name);
    };
    if (before.empty()) {
        offer_names();
    } else {
        if (!prefix.empty() && prefix[0] == '-')
            offered.push_back(CommandTable::kJsonFlag);
        if (before.size() == 1) {
            if (before[0] == "help") {
                offer_names();
            } else if (const Command* c = command_named(before[0])) {
                if (c->complete_arg == init_words)
                    offered.insert(offered.end(), { "deferred", "all" });
                if (c->complete_arg == driver_names)
                    offered.insert(offered.end(), { "uart", "pci", "pit", "pic" });
            }
        }
    }
    std::set<std::string> want;
    for (const std::string& w : offered) {
        if (w.compare(0, prefix.size(), prefix) == 0 && w.size() >= prefix.size())
            want.insert(w);
    }
    std::set<std::string> have;
    for (size_t i = 0; i < got.count(); ++i) {
        FUZZ_CHECK(have.insert(got[i]).second);  // each once
    }
    FUZZ_CHECK(have == want && !got.truncated());
    FUZZ_CHECK(got[got.count()] == nullptr);
    if (got.count() > 0) {  // the shared prefix really is shared, and no longer
        size_t common = got.common_length();
        std::string first = got[0];
        FUZZ_CHECK(common >= prefix.size() && common <= first.size());
        bool all_share = true, all_share_more = common < first.size();
        for (const std::string& w : have) {
            all_share = all_share && w.compare(0, common, first, 0, common) == 0;
            all_share_more = all_share_more && w.size() > common && w[common] == first[common];
        }
        FUZZ_CHECK(all_share && !all_share_more);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    while (!in.empty()) {
        switch (in.byte() % 4) {
        case 0:
        case 1: execute(in); break;
        case 2: dispatch(in); break;
        case 3: complete(in); break;
        }
    }
    return 0;
}
