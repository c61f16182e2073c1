#include "shell/record.h"

namespace exo {
namespace {

// Longest printf spec a placeholder may carry ("-20s" and the like).
constexpr size_t kMaxSpec = 14;

// The conversion a bare {key} uses, by FormatKind: Signed d, Unsigned u,
// Pointer p, String s, Char c, Bool s; u for a missing argument.
char default_conversion(const FormatArg* arg)
{
    static_assert(static_cast<uint8_t>(FormatKind::Bool) == 5);
    return arg ? "dupscs"[static_cast<uint8_t>(arg->kind)] : 'u';
}

void json_value(JsonWriter& json, const FormatArg* arg, char conv)
{
    if (arg == nullptr) {
        json.null();
        return;
    }
    if (arg->kind == FormatKind::Bool) {
        json.boolean(arg->b);
        return;
    }
    // Numbers as the text shows them: a char is its byte, not its sign extension.
    uint64_t bits = arg->u;
    bool negative = false;
    bool integer = format_integer(*arg, bits, negative);
    switch (conv) {
    case 'x':
    case 'X':
    case 'p': json.hex(bits); return;
    case 's':
        if (arg->kind == FormatKind::String && arg->s != nullptr)
            json.str(arg->s, format_string_length(arg->s, arg->max_len));
        else if (arg->kind == FormatKind::Char)
            json.str(&arg->c, 1);
        else
            json.null();
        return;
    case 'c': {
        char c = arg->kind == FormatKind::Char ? arg->c : static_cast<char>(arg->u);
        json.str(&c, 1);
        return;
    }
    default:
        if (negative)
            json.i64(static_cast<int64_t>(bits));
        else if (integer || arg->kind == FormatKind::Pointer)
            json.u64(bits);
        else
            json.null();
    }
}

void text_value(Output& out, const char* spec, size_t spec_len, const FormatArg* arg)
{
    if (spec_len > kMaxSpec) {
        out.puts(kFormatBadSpec);
        return;
    }
    char fmt[kMaxSpec + 2];
    fmt[0] = '%';
    if (spec_len == 0)
        fmt[++spec_len] = default_conversion(arg);
    else
        __builtin_memcpy(fmt + 1, spec, spec_len);
    fmt[spec_len + 1] = '\0';
    format_impl(out.sink(), fmt, arg, arg ? 1 : 0);
}

}  // namespace

void render_record(Output& out, JsonWriter* json, const char* tmpl, const FormatArg* args, size_t count)
{
    size_t next = 0;
    const char* p = tmpl != nullptr ? tmpl : "";
    while (*p != '\0') {
        const char* run = p;
        while (*p != '\0' && *p != '{')
            ++p;
        if (json == nullptr)
            out.write(run, static_cast<size_t>(p - run));
        if (*p == '\0')
            break;
        if (*++p == '{') {  // "{{"
            if (json == nullptr)
                out.put('{');
            ++p;
            continue;
        }
        char mode = (*p == '!' || *p == '@') ? *p++ : '\0';
        const char* key = p;
        while (*p != '\0' && *p != ':' && *p != '}')
            ++p;
        size_t key_len = static_cast<size_t>(p - key);
        const char* spec = p;
        if (*p == ':')
            for (spec = ++p; *p != '\0' && *p != '}'; ++p) {}
        size_t spec_len = static_cast<size_t>(p - spec);
        if (*p != '}') {
            if (json == nullptr)
                out.puts(kFormatBadSpec);
            return;
        }
        ++p;
        if (mode == '@') {
            if (json != nullptr && key_len != 0) {
                json->key(key, key_len);
                json->begin_object();
            } else if (json != nullptr) {
                json->end_object();
            }
            continue;
        }
        const FormatArg* arg = next < count ? &args[next] : nullptr;
        ++next;
        if (json == nullptr) {
            if (mode != '!')
                text_value(out, spec, spec_len, arg);
        } else if (key_len != 0) {
            json->key(key, key_len);
            json_value(*json, arg, spec_len != 0 ? spec[spec_len - 1] : default_conversion(arg));
        }
    }
}

Result<void> emit_record_v(CommandContext& ctx, const char* tmpl, FormatSig sig, ...)
{
    EXO_DECODE_FORMAT_ARGS(sig, args, count)
    if (!ctx.json()) {
        render_record(ctx.out(), nullptr, tmpl, args, count);
        return {};
    }
    JsonWriter json(ctx.out());
    begin_json(json);
    render_record(ctx.out(), &json, tmpl, args, count);
    return end_json(json);
}

Listing::Listing(CommandContext& ctx, const char* array_key) : m_ctx(ctx), m_json(ctx.out()), m_key(array_key)
{
    if (ctx.json())
        begin_json(m_json);
}

void Listing::open_items()
{
    if (json())
        m_json.begin_array(m_key);
}

void Listing::close_items()
{
    if (json() && m_json.depth() > 1)  // the array is the only container below the top object
        m_json.end_array();
}

Result<void> Listing::finish()
{
    if (!json())
        return {};
    close_items();
    return end_json(m_json);
}

void Listing::emit_v(Shape shape, const char* tmpl, FormatSig sig, ...)
{
    EXO_DECODE_FORMAT_ARGS(sig, args, count)
    if (!json()) {
        render_record(m_ctx.out(), nullptr, tmpl, args, count);
        return;
    }
    if (shape == Shape::Text)
        return;
    if (shape == Shape::Row)
        m_json.begin_object();
    render_record(m_ctx.out(), &m_json, tmpl, args, count);
    if (shape == Shape::Row)
        m_json.end_object();
}

}  // namespace exo
