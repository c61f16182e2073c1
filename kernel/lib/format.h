// Typed printf: format strings look like printf, but each argument is turned
// into a tagged FormatArg at the call site, so a wrong conversion prints a
// visible marker instead of reading garbage off the stack. The templates here
// are thin shims: a call site passes each argument as one 64-bit word in the
// ordinary C variadic registers, plus a compile-time constant (FormatSig)
// saying what each word is. The non-template code decodes the words into
// FormatArg records and does all the work, so a call site costs about what a
// printf call costs (a move per argument), not a stack array of records.
//
// Conversions: %d %i %u %x %X %p %s %c %%. Flags '-' (left align) and '0'
// (zero pad numbers). Decimal field width. Length modifiers h hh l ll z j t are
// accepted and ignored: the type comes from the argument.
//
// What each conversion accepts (anything else prints kFormatMismatch):
//   %d %i %u %x %X  integers, enums, char (its byte value), bool (0/1).
//                   %u/%x/%X of a negative value print its 64-bit two's
//                   complement; %d of a huge unsigned prints it unsigned.
//   %p              pointers, integers, strings (their address): "0x" + 16 digits.
//   %s              strings (null prints "(null)"), bool ("true"/"false").
//   %c              char, integers (low byte).
// Markers are not padded. Extra arguments are ignored.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <type_traits>

namespace exo {

// Markers printed in place of a conversion that cannot be honoured.
constexpr const char* kFormatMismatch = "<!>";  // argument type does not fit the conversion
constexpr const char* kFormatMissing = "<?>";   // fewer arguments than conversions
constexpr const char* kFormatBadSpec = "<%?>";  // unknown conversion or '%' at end of string
constexpr const char* kFormatNull = "(null)";   // %s of a null string

// Where formatted text goes. A plain function pointer plus context keeps the
// type trivially copyable and free of vtables. A null `put` discards output,
// which makes a counting sink: format() still returns the length.
struct Sink {
    void (*put)(void* ctx, const char* s, size_t n) = nullptr;
    void* ctx = nullptr;

    void write(const char* s, size_t n) const
    {
        if (put != nullptr && n != 0)
            put(ctx, s, n);
    }
};

enum class FormatKind : uint8_t {
    Signed,    // any signed integer, widened to int64_t
    Unsigned,  // any unsigned integer, widened to uint64_t
    Pointer,   // any non-char pointer
    String,    // char pointer or char array; null allowed
    Char,      // plain char
    Bool,
};

// One argument, type-erased but tagged. Packed to 13 bytes: an array of
// 16-byte elements on the stack is 16-byte aligned, which made every
// variadic entry point realign its stack (-96 B of image).
struct [[gnu::packed]] FormatArg {
    FormatKind kind;
    // For String: at most this many chars are read (char arrays and spans
    // need not be NUL-terminated). kUnbounded for plain C strings.
    uint32_t max_len;
    union {
        int64_t i;
        uint64_t u;  // also holds Pointer values
        const char* s;
        char c;
        bool b;
    };

    static constexpr uint32_t kUnbounded = UINT32_MAX;
};

// A length-delimited string, e.g. a token inside a larger buffer. Printed up
// to `length` chars or the first NUL, whichever comes first.
// Packed to 12 bytes: an aggregate of 16 bytes or more on the stack is
// 16-byte aligned (x86-64 psABI), which costs each function that passes a
// span a stack-realignment prologue under -mpreferred-stack-boundary=3.
struct [[gnu::packed]] FormatStr {
    const char* data;
    uint32_t length;
};

// A char array the caller knows is NUL-terminated (a thread's or a symbol's
// name), passed as a plain C string: an array argument becomes a bounded
// FormatStr span, which costs 14-50 bytes of code at each call site.
constexpr const char* c_str(const char* s) { return s; }

// The kinds of argument word a call site can pass: 3 bits each in a FormatSig.
enum class FormatWordKind : uint8_t {
    Signed,    // int64_t
    Unsigned,  // uint64_t
    Pointer,   // address as uint64_t
    String,    // const char*, NUL-terminated (or null)
    Char,
    Bool,
    Span,      // address of a FormatStr (char arrays, FormatStr arguments)
    Arg,       // address of a ready FormatArg
};

// Bits 0-4: argument count; then 3 bits per argument, first argument lowest.
using FormatSig = uint64_t;
constexpr size_t kMaxFormatArgs = 19;
constexpr unsigned kFormatCountBits = 5;
constexpr unsigned kFormatKindBits = 3;

namespace detail {

template<typename T>
inline constexpr bool kAlwaysFalse = false;

template<typename U>
constexpr FormatWordKind word_kind()
{
    if constexpr (std::is_same_v<U, bool>) {
        return FormatWordKind::Bool;
    } else if constexpr (std::is_same_v<U, char>) {
        return FormatWordKind::Char;
    } else if constexpr (std::is_enum_v<U>) {
        return word_kind<std::underlying_type_t<U>>();
    } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
        return FormatWordKind::Signed;
    } else if constexpr (std::is_integral_v<U>) {
        return FormatWordKind::Unsigned;
    } else if constexpr (std::is_null_pointer_v<U>) {
        return FormatWordKind::String;
    } else if constexpr (std::is_array_v<U> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>) {
        return FormatWordKind::Span;  // bounded by its size even without a terminator
    } else if constexpr (std::is_array_v<U>) {
        return FormatWordKind::Pointer;
    } else if constexpr (std::is_pointer_v<U> && std::is_same_v<std::remove_cv_t<std::remove_pointer_t<U>>, char>) {
        return FormatWordKind::String;
    } else if constexpr (std::is_pointer_v<U>) {
        return FormatWordKind::Pointer;
    } else if constexpr (std::is_same_v<U, FormatStr>) {
        return FormatWordKind::Span;
    } else if constexpr (std::is_same_v<U, FormatArg>) {
        return FormatWordKind::Arg;
    } else {
        // Floating point is not allowed in the kernel; other class types have
        // no conversion. Convert explicitly at the call site.
        static_assert(kAlwaysFalse<U>, "exo::format: unsupported argument type");
        return FormatWordKind::Signed;
    }
}

template<typename... Args>
constexpr FormatSig signature()
{
    static_assert(sizeof...(Args) <= kMaxFormatArgs, "exo::format: at most 19 arguments");
    FormatSig sig = sizeof...(Args);
    unsigned shift = kFormatCountBits;
    ((sig |= static_cast<FormatSig>(word_kind<std::remove_cvref_t<Args>>()) << shift, shift += kFormatKindBits),
        ...);
    return sig;
}

// One argument as the word passed for it. A temporary of this type lives
// until the end of the call's full expression, so a char array can be passed
// as the address of a FormatStr held here.
template<typename U>
struct FormatWord {
    uint64_t word;
    explicit FormatWord(const U& v)
    {
        if constexpr (std::is_enum_v<U>)
            word = static_cast<uint64_t>(static_cast<std::underlying_type_t<U>>(v));
        else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>)
            word = static_cast<uint64_t>(static_cast<int64_t>(v));
        else if constexpr (std::is_integral_v<U>)
            word = static_cast<uint64_t>(v);
        else if constexpr (std::is_null_pointer_v<U>)
            word = 0;
        else if constexpr (std::is_array_v<U>)
            word = reinterpret_cast<uintptr_t>(&v[0]);
        else if constexpr (std::is_pointer_v<U>)
            word = reinterpret_cast<uintptr_t>(v);
        else  // FormatStr, FormatArg: by address
            word = reinterpret_cast<uintptr_t>(&v);
    }
    uint64_t get() const { return word; }
};

template<typename U>
    requires(std::is_array_v<U> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>)
struct FormatWord<U> {
    FormatStr span;
    explicit FormatWord(const U& v) : span { v, std::extent_v<U> } {}
    uint64_t get() const { return reinterpret_cast<uintptr_t>(&span); }
};

// Inside a template whose parameter pack is named Args (for `args`): the
// words of the call, one temporary each.
#define EXO_FORMAT_WORDS(args) \
    ::exo::detail::FormatWord<std::remove_cvref_t<Args>>(args).get()...

}  // namespace detail

// Turns the words of one variadic call back into FormatArg records; returns
// how many (at most kMaxFormatArgs). For the variadic entry points below and
// their siblings elsewhere (the log ring, the shell's print).
size_t decode_format_args(FormatSig sig, __builtin_va_list ap, FormatArg (&out)[kMaxFormatArgs]);

// In a variadic entry point whose last named parameter is `sig`: declares
// `args` and `count` holding the decoded arguments.
#define EXO_DECODE_FORMAT_ARGS(sig, args, count)                \
    ::exo::FormatArg args[::exo::kMaxFormatArgs];               \
    size_t count;                                               \
    {                                                           \
        __builtin_va_list ap_;                                  \
        __builtin_va_start(ap_, sig);                           \
        count = ::exo::decode_format_args(sig, ap_, args);      \
        __builtin_va_end(ap_);                                  \
    }

// The core: writes `fmt` with `args` to `sink`; returns the number of chars
// produced (all of them, whatever the sink did with them). A null `fmt` prints
// "(null)". `args` may be null when `count` is 0.
size_t format_impl(const Sink& sink, const char* fmt, const FormatArg* args, size_t count);

// snprintf semantics: writes at most cap-1 chars plus a NUL (nothing at all
// when cap is 0, and then buf may be null); returns the full length the output
// would have had.
size_t format_to_impl(char* buf, size_t cap, const char* fmt, const FormatArg* args, size_t count);

// The numeric value %d/%u/%x print for `a` (a char is its byte, a bool 0/1);
// false for pointers and strings (bits is then the raw word, negative false).
// For renderers other than the formatter (the shell's JSON records), so both
// show the same number.
bool format_integer(const FormatArg& a, uint64_t& bits, bool& negative);
// strlen bounded by `max` (a String argument's max_len).
size_t format_string_length(const char* s, uint32_t max);

// The variadic entry points the templates call: each word described by `sig`.
size_t format_v(const Sink& sink, const char* fmt, FormatSig sig, ...);
size_t format_to_v(char* buf, size_t cap, const char* fmt, FormatSig sig, ...);

template<typename... Args>
inline size_t format(const Sink& sink, const char* fmt, Args&&... args)
{
    return format_v(sink, fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

template<typename... Args>
inline size_t format_to(char* buf, size_t cap, const char* fmt, Args&&... args)
{
    return format_to_v(buf, cap, fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

// A sink over a fixed char buffer. The buffer is NUL-terminated at all times
// (when cap > 0); output beyond cap-1 chars is counted but dropped.
class BufferSink {
public:
    BufferSink(char* buf, size_t cap);

    Sink sink() { return Sink { &BufferSink::put, this }; }

    // Chars the output would have had with unlimited room.
    size_t length() const { return m_length; }
    // Chars actually stored (excluding the NUL).
    size_t stored() const { return m_stored; }
    bool truncated() const { return m_length > m_stored; }

private:
    static void put(void* ctx, const char* s, size_t n);

    char* m_buf;
    size_t m_cap;
    size_t m_stored { 0 };
    size_t m_length { 0 };
};

}  // namespace exo
