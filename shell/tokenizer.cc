#include "shell/tokenizer.h"

namespace exo {

namespace {

constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

Result<void> Tokens::parse(const char* line, size_t length)
{
    m_argc = 0;
    m_argv[0] = nullptr;
    if (length > kMaxLineLength)
        return Error::TooLong;

    size_t out = 0;
    size_t argc = 0;
    size_t i = 0;
    while (true) {
        while (i < length && is_blank(line[i]))
            ++i;
        if (i >= length)
            break;
        if (argc == kMaxArgs) {
            m_argv[0] = nullptr;
            return Error::TooLong;
        }
        size_t word_start = out;
        char quote = '\0';  // the open quote character, if any
        for (; i < length; ++i) {
            char c = line[i];
            if (quote == '\0') {
                if (is_blank(c))
                    break;
                if (c == '"' || c == '\'') {
                    quote = c;
                    continue;
                }
            } else if (c == quote) {
                quote = '\0';
                continue;
            } else if (quote == '"' && c == '\\' && i + 1 < length && (line[i + 1] == '"' || line[i + 1] == '\\')) {
                c = line[++i];  // only \" and \\ are escapes, inside double quotes
            }
            m_storage[out++] = c;
        }
        if (quote != '\0') {
            m_argv[0] = nullptr;
            return Error::InvalidArgument;
        }
        m_storage[out++] = '\0';
        m_argv[argc++] = m_storage + word_start;
    }
    m_argv[argc] = nullptr;
    m_argc = argc;
    return {};
}

Result<uint64_t> parse_u64(const char* text)
{
    constexpr uint64_t kMax = ~uint64_t { 0 };
    if (text == nullptr || text[0] == '\0')
        return Error::InvalidArgument;
    uint64_t base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
        if (text[0] == '\0')
            return Error::InvalidArgument;
    }
    uint64_t value = 0;
    for (; *text != '\0'; ++text) {
        char c = *text;
        char lower = static_cast<char>(c | 0x20);  // 'A'-'F' -> 'a'-'f'
        uint64_t digit = 16;                       // not a digit in either base
        if (c >= '0' && c <= '9')
            digit = static_cast<uint64_t>(c - '0');
        else if (lower >= 'a' && lower <= 'f')
            digit = static_cast<uint64_t>(lower - 'a' + 10);
        if (digit >= base)
            return Error::InvalidArgument;
        if (value > (kMax - digit) / base)
            return Error::TooLong;
        value = value * base + digit;
    }
    return value;
}

}  // namespace exo
