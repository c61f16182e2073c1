// One error vocabulary for the whole kernel: a small enum and a Result<T>
// that carries either a value or an Error. No exceptions, no catch-all code.
#pragma once

#include <stdint.h>

#include "kernel/lib/names.h"

namespace exo {

// No error is 0: a Result keeps its state in one byte, 0 when it holds a
// value (what the CPU sets and tests most cheaply; an Error plus a bool
// cost a second byte and a shift or byte-register access at every check).
enum class Error : uint8_t {
    InvalidArgument = 1,  // caller passed something malformed
    NotFound,         // the thing asked for does not exist
    NoMemory,         // an allocator ran out
    NotMapped,        // virtual address has no translation
    Unsupported,      // hardware or firmware lacks the feature
    Absent,           // device probed and not present (not a failure)
    Timeout,          // hardware did not answer in time
    Corrupt,          // data structure failed a consistency check
    TooLong,          // input exceeds a fixed limit
    Busy,             // resource already in use / already done
};

// Out of line: a call is shorter than the table address and index at each
// of its callers (GCC inlined it at seven).
[[gnu::noinline]] inline const char* error_name(Error e)
{
    return name_at("ok\0invalid argument\0not found\0out of memory\0not mapped\0unsupported\0"
                   "absent\0timeout\0corrupt\0too long\0busy\0",
        static_cast<size_t>(e));
}

template<typename T>
class [[nodiscard]] Result {
public:
    // Two overloads, not one by value: a large T (a Message) was copied
    // twice, into the parameter and then into the member.
    constexpr Result(const T& value) : m_value(value), m_error() {}
    constexpr Result(T&& value) : m_value(static_cast<T&&>(value)), m_error() {}
    constexpr Result(Error e) : m_error(e) {}

    constexpr bool ok() const { return m_error == Error(); }
    constexpr explicit operator bool() const { return ok(); }
    constexpr Error error() const { return m_error; }  // when !ok()
    constexpr T& value() { return m_value; }
    constexpr const T& value() const { return m_value; }
    constexpr T value_or(T fallback) const { return ok() ? m_value : fallback; }

private:
    // In a union so that an error leaves it uninitialised: zeroing the value
    // on every error path cost ~130 B (a PitCalibration is 32 bytes), and a
    // plain uninitialised member draws -Wmaybe-uninitialized where a
    // Result is copied; a variant member is left alone by both.
    union {
        T m_value;  // valid when ok()
    };
    Error m_error;  // Error() (0) when ok
};

template<>
class [[nodiscard]] Result<void> {
public:
    constexpr Result() : m_error() {}
    constexpr Result(Error e) : m_error(e) {}

    constexpr bool ok() const { return m_error == Error(); }
    constexpr explicit operator bool() const { return ok(); }
    constexpr Error error() const { return m_error; }  // when !ok()

private:
    Error m_error;  // Error() (0) when ok
};

}  // namespace exo

// Propagate an error to the caller; yields the value on success.
#define TRY(expr)                                  \
    ({                                             \
        auto _exo_try = (expr);                    \
        if (!_exo_try.ok())                        \
            return _exo_try.error();               \
        static_cast<decltype(_exo_try)&&>(_exo_try); \
    }).value()

// Propagate an error from a Result<void>.
#define TRY_VOID(expr)                  \
    do {                                \
        auto _exo_try = (expr);         \
        if (!_exo_try.ok())             \
            return _exo_try.error();    \
    } while (0)
