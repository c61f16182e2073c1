// The shell's JSON writer driven by any sequence of calls (containers,
// keys, strings of any bytes, numbers, booleans, nulls, hex), against a
// model of its documented rules: error() is set exactly when the sequence
// misuses it (a value without a key in an object, a key outside one, two
// keys in a row, an unbalanced or mismatched end, nesting past kMaxDepth, a
// second top-level value, nothing complete at end_line). The output is
// always one printable ASCII line ending in CRLF; when there was no misuse
// it parses (a JSON parser written here, RFC 8259) back to exactly the
// values written: strings byte for byte (bytes >= 0x80 as U+0080..U+00FF),
// numbers exact, keys in order.
// Input: operations, each a byte and its arguments.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "shell/json_writer.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

// Values in one canonical text, the same whether built from the calls or
// parsed from the output: s<length>:<bytes>, n<decimal>, t, f, z (null),
// [items], {key value ...}.
std::string canonical_string(const std::string& bytes) { return "s" + std::to_string(bytes.size()) + ":" + bytes; }

// The writer's rules, kept apart from it.
struct Model {
    struct Level {
        bool object;
        bool key_pending = false;
        std::string text;
    };
    std::vector<Level> stack;
    size_t overflow = 0;
    bool top_done = false;
    bool misuse = false;
    std::string document;

    // A value is being written; whether it is written at all.
    bool value(const std::string& text)
    {
        if (overflow != 0) {
            misuse = true;
            return false;
        }
        if (stack.empty()) {
            misuse = misuse || top_done;
            top_done = true;
            document = text;
            return true;
        }
        Level& l = stack.back();
        if (l.object && !l.key_pending)
            misuse = true;
        l.key_pending = false;
        l.text += text;
        return true;
    }

    void key(const std::string& name)
    {
        if (stack.empty() || overflow != 0 || !stack.back().object || stack.back().key_pending) {
            misuse = true;
            return;
        }
        stack.back().text += canonical_string(name);
        stack.back().key_pending = true;
    }

    void open(bool object)
    {
        if (overflow != 0 || stack.size() == JsonWriter::kMaxDepth) {
            misuse = true;
            ++overflow;
            return;
        }
        if (value(""))  // the container's text is filled in when it closes
            stack.push_back({ object });
    }

    void close(bool object)
    {
        if (overflow != 0) {
            --overflow;
            return;
        }
        if (stack.empty()) {
            misuse = true;
            return;
        }
        if (stack.back().object != object || stack.back().key_pending)
            misuse = true;
        Level l = stack.back();
        stack.pop_back();
        std::string text = (l.object ? "{" : "[") + l.text + (l.object ? "}" : "]");
        if (stack.empty())
            document = text;
        else
            stack.back().text += text;
    }

    bool complete() const { return stack.empty() && overflow == 0 && top_done; }
};

// RFC 8259, strict enough for what the writer may produce.
class Parser {
public:
    explicit Parser(const std::string& text) : m_s(text) {}

    bool document(std::string& out) { return value(out) && m_i == m_s.size(); }

private:
    bool value(std::string& out)
    {
        if (m_i >= m_s.size())
            return false;
        char c = m_s[m_i];
        if (c == '{' || c == '[') {
            bool object = c == '{';
            ++m_i;
            out += c;
            if (m_i < m_s.size() && m_s[m_i] == (object ? '}' : ']')) {
                out += m_s[m_i++];
                return true;
            }
            for (;;) {
                if (object) {
                    std::string key;
                    if (!string(key) || !eat(':'))
                        return false;
                    out += canonical_string(key);
                }
                if (!value(out))
                    return false;
                if (eat(','))
                    continue;
                if (!eat(object ? '}' : ']'))
                    return false;
                out += object ? '}' : ']';
                return true;
            }
        }
        if (c == '"') {
            std::string s;
            if (!string(s))
                return false;
            out += canonical_string(s);
            return true;
        }
        for (const char* word : { "true", "false", "null" }) {
            if (m_s.compare(m_i, strlen(word), word) == 0) {
                m_i += strlen(word);
                out += word[0] == 'n' ? 'z' : word[0];
                return true;
            }
        }
        size_t start = m_i;
        if (m_s[m_i] == '-')
            ++m_i;
        size_t digits = m_i;
        while (m_i < m_s.size() && m_s[m_i] >= '0' && m_s[m_i] <= '9')
            ++m_i;
        if (m_i == digits || (m_s[digits] == '0' && m_i - digits > 1))
            return false;  // no digits, or a leading zero
        out += "n" + m_s.substr(start, m_i - start);
        return true;
    }

    bool string(std::string& out)
    {
        if (!eat('"'))
            return false;
        while (m_i < m_s.size()) {
            unsigned char c = static_cast<unsigned char>(m_s[m_i++]);
            if (c == '"')
                return true;
            if (c < 0x20)
                return false;
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            if (m_i >= m_s.size())
                return false;
            char e = m_s[m_i++];
            if (e == '\0')
                return false;
            const char* simple = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", e);
            if (e != 'u' && simple != nullptr && (simple - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2 == 0) {
                out += simple[1];
                continue;
            }
            if (e != 'u' || m_i + 4 > m_s.size())
                return false;
            unsigned long code = strtoul(m_s.substr(m_i, 4).c_str(), nullptr, 16);
            if (m_s.substr(m_i, 4).find_first_not_of("0123456789abcdefABCDEF") != std::string::npos || code > 0xFF)
                return false;  // the writer only escapes single bytes
            out += static_cast<char>(code);
            m_i += 4;
        }
        return false;
    }

    bool eat(char c)
    {
        if (m_i < m_s.size() && m_s[m_i] == c) {
            ++m_i;
            return true;
        }
        return false;
    }

    const std::string& m_s;
    size_t m_i = 0;
};

void append(void* ctx, const char* data, size_t length) { static_cast<std::string*>(ctx)->append(data, length); }

std::string hex_text(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    std::string out;
    Output output(append, &out);
    JsonWriter json(output);
    Model m;
    for (size_t op = 0; op < 300 && !in.empty(); ++op) {
        uint8_t kind = in.byte();
        switch (kind % 10) {
        case 0: json.begin_object(); m.open(true); break;
        case 1: json.end_object(); m.close(true); break;
        case 2: json.begin_array(); m.open(false); break;
        case 3: json.end_array(); m.close(false); break;
        case 4: {  // a key, sometimes with its container in one call
            std::string name = in.text(in.byte() % 24);
            std::unique_ptr<char[]> copy(new char[name.size()]);  // exact size, no NUL
            if (!name.empty())
                memcpy(copy.get(), name.data(), name.size());
            json.key(copy.get(), name.size());
            m.key(name);
            break;
        }
        case 5: {
            uint8_t form = in.byte() % 3;  // with a length, NUL-terminated, null
            std::string text = in.text(in.byte());
            if (form != 0) {
                std::string c_text = text.c_str();
                json.str(form == 2 ? nullptr : c_text.c_str());
                m.value(form == 2 ? "z" : canonical_string(c_text));
            } else {
                std::unique_ptr<char[]> copy(new char[text.size() + 1]);
                memcpy(copy.get(), text.data(), text.size());
                json.str(copy.get(), text.size());
                m.value(canonical_string(text));
            }
            break;
        }
        case 6: {
            uint64_t v = in.take<uint64_t>();
            json.u64(v);
            m.value("n" + std::to_string(v));
            break;
        }
        case 7: {
            int64_t v = in.take<int64_t>();
            json.i64(v);
            m.value("n" + std::to_string(v));
            break;
        }
        case 8: {
            uint8_t which = in.byte() % 3;
            if (which == 2) {
                json.null();
                m.value("z");
            } else {
                json.boolean(which == 1);
                m.value(which == 1 ? "t" : "f");
            }
            break;
        }
        case 9: {
            uint64_t v = in.take<uint64_t>();
            json.hex(v);
            m.value(canonical_string(hex_text(v)));
            break;
        }
        }
        FUZZ_CHECK(json.error() == m.misuse);
        FUZZ_CHECK(json.depth() == m.stack.size());
    }
    bool ok = json.end_line();
    FUZZ_CHECK(ok == (!m.misuse && m.complete()) && json.complete() == m.complete());

    // One printable ASCII line, whatever happened.
    FUZZ_CHECK(out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0);
    std::string line = out.substr(0, out.size() - 2);
    for (char c : line)
        FUZZ_CHECK(c >= 0x20 && c < 0x7F);
    if (ok) {
        std::string parsed;
        FUZZ_CHECK(Parser(line).document(parsed));
        FUZZ_CHECK(parsed == m.document);
    }
    return 0;
}
