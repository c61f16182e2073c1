#include "shell/command_table.h"

#include "shell/record.h"

#include "shell/json_writer.h"
#include "shell/tokenizer.h"
#include "kernel/lib/names.h"

namespace exo {

static_assert(Tokens::kMaxLineLength == LineEditor::kCapacity, "every line the editor accepts must tokenize");

namespace {

constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }

// strcmp order over NUL-terminated names (the kernel has no strcmp).
int compare(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<int>(static_cast<uint8_t>(*a)) - static_cast<int>(static_cast<uint8_t>(*b));
}


bool is_json_flag(const char* arg) { return compare(arg, CommandTable::kJsonFlag) == 0; }

// One command's object; `alone` (help NAME --json) makes it the whole line,
// which then starts with the schema like every --json answer.
void write_command(JsonWriter& json, const Command& command, bool alone)
{
    json.begin_object();
    if (alone)
        json.field_u64("schema", 1);
    json.field_str("name", command.name);
    json.field_str("usage", command.usage());
    json.field_str("summary", command.summary());
    json.end_object();
}

Result<void> run_help(CommandContext& ctx, int argc, const char* const* argv)
{
    const CommandTable* table = ctx.table();
    if (table == nullptr)
        return ctx.fail(Error::Unsupported, "no command table");
    if (argc < 2) {
        table->print_help(ctx.out(), ctx.format());
        return {};
    }
    if (!table->print_command_help(ctx.out(), ctx.format(), argv[1]).ok())
        return ctx.fail(Error::NotFound, "unknown command", argv[1]);
    return {};
}

constexpr Command kHelpCommand {
    .name = "help\0help [--json] [cmd]\0list commands, or show one command's usage",
    .run = run_help,
    .complete_arg = nullptr,
    .max_args = 1,
};

}  // namespace

bool Command::has_json() const
{
    for (const char* p = usage(); *p; ++p) {
        const char* want = "--json";
        const char* q = p;
        while (*want && *q == *want) {
            ++q;
            ++want;
        }
        if (*want == '\0')
            return true;
    }
    return false;
}

const Command* CommandTable::find(const char* name, size_t length) const
{
    if (name == nullptr)
        return nullptr;
    if (equals_name(name, length, kHelpCommand.name))
        return &kHelpCommand;
    for (size_t i = 0; i < m_count; ++i) {
        if (equals_name(name, length, m_commands[i].name))
            return &m_commands[i];
    }
    return nullptr;
}

const Command* CommandTable::find(const char* name) const
{
    return name != nullptr ? find(name, __builtin_strlen(name)) : nullptr;
}

Result<void> CommandTable::execute(Output& out, const char* line, size_t length, CommandOrigin origin) const
{
    Tokens tokens;
    auto parsed = tokens.parse(line, length);
    if (!parsed.ok()) {
        static_assert(Tokens::kMaxArgs == 16, "the message below names the limit");
        out.puts(parsed.error() == Error::InvalidArgument ? "error: unterminated quote\r\n"
                : length > Tokens::kMaxLineLength          ? "error: line too long\r\n"
                                                           : "error: too many arguments (max 16)\r\n");
        return parsed.error();
    }
    return dispatch(out, tokens.argc(), tokens.argv(), origin);
}

Result<void> CommandTable::dispatch(Output& out, int argc, const char* const* argv, CommandOrigin origin) const
{
    if (argc < 0 || static_cast<size_t>(argc) > Tokens::kMaxArgs) {
        out.puts("error: too many arguments\r\n");
        return Error::TooLong;
    }
    const char* args[Tokens::kMaxArgs + 1];
    int count = 0;
    OutputFormat format = OutputFormat::Text;
    for (int i = 0; i < argc; ++i) {
        if (is_json_flag(argv[i]))
            format = OutputFormat::Json;
        else
            args[count++] = argv[i];
    }
    args[count] = nullptr;
    if (count == 0)
        return {};

    const Command* command = find(args[0]);
    if (command == nullptr) {
        (void)exo::format(out.sink(), "error: unknown command '%s' (try help)\r\n", args[0]);
        return Error::NotFound;
    }
    CommandContext ctx(out, format, *command, this);
    if (command->max_args != Command::kAnyArgs && count - 1 > command->max_args)
        return ctx.usage_error();
    // Why the command is refused (Unsupported, one report), if it is.
    const char* refusal = nullptr;
    if (command->run == nullptr)
        refusal = error_name(Error::Unsupported);
    else if (format == OutputFormat::Json && !command->has_json())
        refusal = "no --json form";
    else if (origin == CommandOrigin::Debugger && (command->flags & Command::kNotInDebugger))
        refusal = "not from gdb: it blocks, sleeps, spawns threads or faults";
    if (refusal != nullptr)
        return ctx.fail(Error::Unsupported, refusal, nullptr);
    Result<void> result = command->run(ctx, count, args);
    if (!result.ok() && !ctx.reported())
        (void)ctx.fail(result.error());
    return result;
}

void CommandTable::complete(const char* line, size_t cursor, Completions& out) const
{
    size_t start = cursor;
    while (start > 0 && !is_blank(line[start - 1]))
        --start;

    // Words before the one being completed; --json does not count.
    size_t index = 0;
    const char* first = nullptr;
    size_t first_length = 0;
    size_t i = 0;
    while (i < start) {
        while (i < start && is_blank(line[i]))
            ++i;
        if (i >= start)
            break;
        size_t word = i;
        while (i < start && !is_blank(line[i]))
            ++i;
        if (equals_name(line + word, i - word, kJsonFlag))
            continue;
        if (index == 0) {
            first = line + word;
            first_length = i - word;
        }
        ++index;
    }

    // The first word, or the argument of `help`: a command name.
    const Command* command = nullptr;
    if (index != 0) {
        if (out.prefix_length() > 0 && out.prefix()[0] == '-')
            out.add(kJsonFlag);
        if (index != 1)
            return;
        command = find(first, first_length);
        if (command == nullptr)
            return;
    }
    if (command == nullptr || command == &kHelpCommand) {
        out.add(kHelpCommand.name);
        for (size_t c = 0; c < m_count; ++c)
            out.add(m_commands[c].name);
        return;
    }
    if (command->complete_arg != nullptr)
        command->complete_arg(out);
}

void CommandTable::completion_callback(void* table, const char* line, size_t cursor, Completions& out)
{
    static_cast<const CommandTable*>(table)->complete(line, cursor, out);
}

const Command* CommandTable::next_sorted(const char* after) const
{
    const Command* best = nullptr;
    auto consider = [&](const Command* candidate) {
        if (after != nullptr && compare(candidate->name, after) <= 0)
            return;
        if (best == nullptr || compare(candidate->name, best->name) < 0)
            best = candidate;
    };
    consider(&kHelpCommand);
    for (size_t i = 0; i < m_count; ++i)
        consider(&m_commands[i]);
    return best;
}

void CommandTable::print_help(Output& out, OutputFormat format) const
{
    JsonWriter json(out);
    bool as_json = format == OutputFormat::Json;
    if (as_json) {
        begin_json(json);
        json.begin_array("commands");
    }
    // Text takes two passes: the widest usage, then the aligned lines.
    size_t width = 0;
    for (int pass = as_json ? 1 : 0; pass < 2; ++pass) {
        for (const Command* c = next_sorted(nullptr); c != nullptr; c = next_sorted(c->name)) {
            if (as_json) {
                write_command(json, *c, false);
            } else if (pass == 0) {
                size_t length = __builtin_strlen(c->usage());
                if (length > width)
                    width = length;
            } else {
                out.put_padded(c->usage(), width + kHelpColumnGap);
                out.puts(c->summary());
                out.newline();
            }
        }
    }
    if (as_json) {
        json.end_array();
        json.end_object();
        (void)json.end_line();
    }
}

Result<void> CommandTable::print_command_help(Output& out, OutputFormat format, const char* name) const
{
    const Command* command = find(name);
    if (command == nullptr)
        return Error::NotFound;
    if (format == OutputFormat::Json) {
        JsonWriter json(out);
        write_command(json, *command, true);
        (void)json.end_line();
        return {};
    }
    (void)exo::format(out.sink(), "usage: %s\r\n%s\r\n", command->usage(), command->summary());
    return {};
}

}  // namespace exo
