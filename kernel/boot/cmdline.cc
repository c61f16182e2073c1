#include "kernel/boot/cmdline.h"

namespace exo {

namespace {

// Space, or one of \t \n \v \f \r (0x09-0x0D, contiguous in ASCII).
bool is_blank(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
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

// has_value first: a local struct whose first field is a 16-byte struct is
// 16-byte aligned under LTO, and that realigns the stack of every function
// split() is inlined into (kernel_main among them).
struct KeyValue {
    bool has_value = false;
    CmdlineText key;
    CmdlineText value;
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

// Keys, then each key's value spellings, as packed lists ("a\0b\0" ended by
// an empty name). A key's index is its byte in KernelOptions, a value's
// index the enum it stands for. alignas(1): no 16-byte ABI padding.
alignas(1) constexpr char kKeys[] = "deferred\0gdb\0log\0";
alignas(1) constexpr char kValues[] = "manual\0auto\0\0on\0wait\0panic\0off\0\0quiet\0normal\0verbose\0";
static_assert(offsetof(KernelOptions, deferred) == 0 && offsetof(KernelOptions, gdb) == 1
    && offsetof(KernelOptions, log) == 2 && sizeof(KernelOptions) == 3);
static_assert(static_cast<size_t>(DeferredMode::Auto) == 1);
static_assert(static_cast<size_t>(GdbMode::Off) == 3);
static_assert(static_cast<size_t>(LogVerbosity::Verbose) == 2);

// Index of `text` in the packed list at `list`, or -1; leaves `list` past
// the list's end.
int match(const CmdlineText& text, const char*& list)
{
    int found = -1;
    for (int i = 0; *list != '\0'; ++i) {
        if (found < 0 && text.equals(list))
            found = i;
        list += __builtin_strlen(list) + 1;
    }
    ++list;
    return found;
}

// Applies one token; returns the problem when it is ignored.
Result<void> apply(const CmdlineText& token, KernelOptions& out, CmdlineProblem& problem)
{
    if (token.length > kMaxTokenLength) {
        problem = CmdlineProblem::TooLong;
        return Error::TooLong;
    }
    KeyValue kv = split(token);
    const char* list = kKeys;
    int key = match(kv.key, list);
    if (key < 0) {
        problem = CmdlineProblem::UnknownOption;
        return Error::NotFound;
    }
    if (!kv.has_value) {
        problem = CmdlineProblem::MissingValue;
        return Error::InvalidArgument;
    }
    list = kValues;
    int index = -1;
    for (int k = 0; k <= key; ++k)  // the last list matched is the key's
        index = match(kv.value, list);
    if (index < 0) {
        problem = CmdlineProblem::BadValue;
        return Error::InvalidArgument;
    }
    reinterpret_cast<uint8_t*>(&out)[key] = static_cast<uint8_t>(index);
    return {};
}

}  // namespace

bool CmdlineText::equals(const char* s) const { return equals_name(text, length, s); }

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
