#include "kernel/boot/cmdline.h"

namespace exo {

namespace {

bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Splits a command line into blank-separated tokens, reading at most
// kMaxCmdlineLength bytes, and drops a leading kernel path.
class Tokenizer {
public:
    explicit Tokenizer(const char* cmdline) : m_at(cmdline) {}

    bool next(CmdlineText& out)
    {
        for (;;) {
            if (!next_raw(out))
                return false;
            bool first = m_first;
            m_first = false;
            if (!(first && out.text[0] == '/'))
                return true;
        }
    }

private:
    bool at_end() const { return m_at == nullptr || m_scanned >= kMaxCmdlineLength || *m_at == '\0'; }

    bool next_raw(CmdlineText& out)
    {
        while (!at_end() && is_blank(*m_at))
            advance();
        if (at_end())
            return false;
        out.text = m_at;
        while (!at_end() && !is_blank(*m_at))
            advance();
        out.length = static_cast<size_t>(m_at - out.text);
        return true;
    }

    void advance()
    {
        ++m_at;
        ++m_scanned;
    }

    const char* m_at;
    size_t m_scanned = 0;
    bool m_first = true;
};

struct KeyValue {
    CmdlineText key;
    CmdlineText value;
    bool has_value = false;
};

KeyValue split(const CmdlineText& token)
{
    KeyValue kv;
    kv.key = token;
    for (size_t i = 0; i < token.length; ++i) {
        if (token.text[i] == '=') {
            kv.key.length = i;
            kv.value.text = token.text + i + 1;
            kv.value.length = token.length - i - 1;
            kv.has_value = true;
            break;
        }
    }
    return kv;
}

// Value spellings, indexed by the enum they stand for.
constexpr const char* kDeferredValues[] = {"manual", "auto"};
constexpr const char* kGdbValues[] = {"off", "wait", "panic"};
constexpr const char* kLogValues[] = {"quiet", "normal", "verbose"};
static_assert(static_cast<size_t>(DeferredMode::Auto) == 1);
static_assert(static_cast<size_t>(GdbMode::Panic) == 2);
static_assert(static_cast<size_t>(LogVerbosity::Verbose) == 2);

template<size_t N>
Result<uint8_t> match(const CmdlineText& value, const char* const (&spellings)[N])
{
    for (size_t i = 0; i < N; ++i) {
        if (value.equals(spellings[i]))
            return static_cast<uint8_t>(i);
    }
    return Error::InvalidArgument;
}

// Applies one token; returns the problem when it is ignored.
Result<void> apply(const CmdlineText& token, KernelOptions& out, CmdlineProblem& problem)
{
    if (token.length > kMaxTokenLength) {
        problem = CmdlineProblem::TooLong;
        return Error::TooLong;
    }
    KeyValue kv = split(token);
    enum class Key : uint8_t { Deferred, Gdb, Log } key;
    if (kv.key.equals("deferred")) {
        key = Key::Deferred;
    } else if (kv.key.equals("gdb")) {
        key = Key::Gdb;
    } else if (kv.key.equals("log")) {
        key = Key::Log;
    } else {
        problem = CmdlineProblem::UnknownOption;
        return Error::NotFound;
    }
    if (!kv.has_value) {
        problem = CmdlineProblem::MissingValue;
        return Error::InvalidArgument;
    }

    Result<uint8_t> index = Error::InvalidArgument;
    switch (key) {
    case Key::Deferred: index = match(kv.value, kDeferredValues); break;
    case Key::Gdb: index = match(kv.value, kGdbValues); break;
    case Key::Log: index = match(kv.value, kLogValues); break;
    }
    if (!index) {
        problem = CmdlineProblem::BadValue;
        return Error::InvalidArgument;
    }
    switch (key) {
    case Key::Deferred: out.deferred = static_cast<DeferredMode>(index.value()); break;
    case Key::Gdb: out.gdb = static_cast<GdbMode>(index.value()); break;
    case Key::Log: out.log = static_cast<LogVerbosity>(index.value()); break;
    }
    return {};
}

}  // namespace

bool CmdlineText::equals(const char* s) const
{
    size_t n = __builtin_strlen(s);
    return n == length && (n == 0 || __builtin_memcmp(text, s, n) == 0);
}

size_t parse_cmdline(const char* cmdline, KernelOptions& out, UnknownOptionFn report, void* ctx)
{
    Tokenizer tokens(cmdline);
    CmdlineText token;
    size_t reported = 0;
    while (tokens.next(token)) {
        CmdlineProblem problem = CmdlineProblem::UnknownOption;
        if (apply(token, out, problem).ok())
            continue;
        ++reported;
        if (report != nullptr) {
            size_t shown = token.length < kMaxTokenLength ? token.length : kMaxTokenLength;
            report(ctx, token.text, shown, problem);
        }
    }
    return reported;
}

Result<CmdlineText> find_option(const char* cmdline, const char* key)
{
    if (key == nullptr || key[0] == '\0')
        return Error::NotFound;
    Tokenizer tokens(cmdline);
    CmdlineText token;
    Result<CmdlineText> found = Error::NotFound;
    while (tokens.next(token)) {
        if (token.length > kMaxTokenLength)
            continue;  // parse_cmdline ignores these too
        KeyValue kv = split(token);
        if (kv.key.equals(key))
            found = kv.has_value ? kv.value : CmdlineText { token.text + token.length, 0 };
    }
    return found;
}

}  // namespace exo
