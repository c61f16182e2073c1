// Stands in for GoogleTest when a fuzz target reuses a unit-test fake
// (gdb_stub_fuzz: tests/unit/fake_target.h): the targets are built by clang
// without GoogleTest, and a fake's complaint must stop the run. Each
// EXPECT_* or ADD_FAILURE() that fails prints its message and traps, which
// libFuzzer reports as a crash.
#pragma once

#include <stdio.h>

#include <sstream>
#include <string>

namespace exo::fuzz {

class ExpectationFailed {
public:
    ExpectationFailed(const char* what, const char* file, int line) : m_what(what), m_file(file), m_line(line) {}
    ExpectationFailed(const ExpectationFailed&) = delete;

    template<typename T>
    ExpectationFailed& operator<<(const T& value)
    {
        m_message << value;
        return *this;
    }

    // The streamed message is complete once the full expression has run.
    ~ExpectationFailed()
    {
        fprintf(stderr, "%s:%d: fake's expectation failed: %s %s\n", m_file, m_line, m_what,
            m_message.str().c_str());
        __builtin_trap();
    }

private:
    const char* m_what;
    const char* m_file;
    int m_line;
    std::ostringstream m_message;
};

}  // namespace exo::fuzz

// The switch keeps a following `else` of the caller's from binding here.
#define EXO_FUZZ_EXPECT(cond, text) \
    switch (0)                      \
    case 0:                         \
    default:                        \
        if (cond) {                 \
        } else                      \
            ::exo::fuzz::ExpectationFailed(text, __FILE__, __LINE__)

#define EXPECT_TRUE(c) EXO_FUZZ_EXPECT((c), #c)
#define EXPECT_FALSE(c) EXO_FUZZ_EXPECT(!(c), "!(" #c ")")
#define EXPECT_EQ(a, b) EXO_FUZZ_EXPECT((a) == (b), #a " == " #b)
#define EXPECT_NE(a, b) EXO_FUZZ_EXPECT((a) != (b), #a " != " #b)
#define ADD_FAILURE() EXO_FUZZ_EXPECT(false, "ADD_FAILURE")
