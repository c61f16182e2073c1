// Typed printf: format strings look like printf, but each argument is turned
// into a tagged FormatArg at the call site, so a wrong conversion prints a
// visible marker instead of reading garbage off the stack. The templates here
// are thin shims; all the work happens in the non-template format_impl so each
// call site only costs an array of FormatArg and one call.
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

// One argument, type-erased but tagged. 16 bytes on x86_64.
struct FormatArg {
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
struct FormatStr {
    const char* data;
    size_t length;
};

namespace detail {

constexpr FormatArg make_signed(int64_t v)
{
    FormatArg a { FormatKind::Signed, 0, {} };
    a.i = v;
    return a;
}

constexpr FormatArg make_unsigned(uint64_t v)
{
    FormatArg a { FormatKind::Unsigned, 0, {} };
    a.u = v;
    return a;
}

constexpr FormatArg make_string(const char* s, uint32_t max_len)
{
    FormatArg a { FormatKind::String, max_len, {} };
    a.s = s;
    return a;
}

inline FormatArg make_pointer(uintptr_t v)
{
    FormatArg a { FormatKind::Pointer, 0, {} };
    a.u = v;
    return a;
}

constexpr uint32_t clamp_len(size_t n)
{
    return n > FormatArg::kUnbounded ? FormatArg::kUnbounded : static_cast<uint32_t>(n);
}

template<typename T>
inline constexpr bool kAlwaysFalse = false;

template<typename T>
inline FormatArg make_format_arg(const T& v)
{
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>) {
        FormatArg a { FormatKind::Bool, 0, {} };
        a.b = v;
        return a;
    } else if constexpr (std::is_same_v<U, char>) {
        FormatArg a { FormatKind::Char, 0, {} };
        a.c = v;
        return a;
    } else if constexpr (std::is_enum_v<U>) {
        return make_format_arg(static_cast<std::underlying_type_t<U>>(v));
    } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
        return make_signed(static_cast<int64_t>(v));
    } else if constexpr (std::is_integral_v<U>) {
        return make_unsigned(static_cast<uint64_t>(v));
    } else if constexpr (std::is_null_pointer_v<U>) {
        return make_string(nullptr, FormatArg::kUnbounded);
    } else if constexpr (std::is_array_v<U> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>) {
        // A char array is bounded by its size even without a terminator.
        return make_string(v, clamp_len(std::extent_v<U>));
    } else if constexpr (std::is_array_v<U>) {
        return make_pointer(reinterpret_cast<uintptr_t>(&v[0]));
    } else if constexpr (std::is_pointer_v<U> && std::is_same_v<std::remove_cv_t<std::remove_pointer_t<U>>, char>) {
        return make_string(v, FormatArg::kUnbounded);
    } else if constexpr (std::is_pointer_v<U>) {
        return make_pointer(reinterpret_cast<uintptr_t>(v));
    } else if constexpr (std::is_same_v<U, FormatStr>) {
        return make_string(v.data, clamp_len(v.length));
    } else if constexpr (std::is_same_v<U, FormatArg>) {
        return v;
    } else {
        // Floating point is not allowed in the kernel; other class types have
        // no conversion. Convert explicitly at the call site.
        static_assert(kAlwaysFalse<U>, "exo::format: unsupported argument type");
        return make_signed(0);
    }
}

}  // namespace detail

// The core: writes `fmt` with `args` to `sink`; returns the number of chars
// produced (all of them, whatever the sink did with them). A null `fmt` prints
// "(null)". `args` may be null when `count` is 0.
size_t format_impl(const Sink& sink, const char* fmt, const FormatArg* args, size_t count);

// snprintf semantics: writes at most cap-1 chars plus a NUL (nothing at all
// when cap is 0, and then buf may be null); returns the full length the output
// would have had.
size_t format_to_impl(char* buf, size_t cap, const char* fmt, const FormatArg* args, size_t count);

template<typename... Args>
inline size_t format(const Sink& sink, const char* fmt, const Args&... args)
{
    if constexpr (sizeof...(Args) == 0) {
        return format_impl(sink, fmt, nullptr, 0);
    } else {
        const FormatArg list[] = { detail::make_format_arg(args)... };
        return format_impl(sink, fmt, list, sizeof...(Args));
    }
}

template<typename... Args>
inline size_t format_to(char* buf, size_t cap, const char* fmt, const Args&... args)
{
    if constexpr (sizeof...(Args) == 0) {
        return format_to_impl(buf, cap, fmt, nullptr, 0);
    } else {
        const FormatArg list[] = { detail::make_format_arg(args)... };
        return format_to_impl(buf, cap, fmt, list, sizeof...(Args));
    }
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
