// The shell tokenizer against the rules in shell/tokenizer.h written out
// again (reference_tokenizer.h): the same words or the same error for any
// line, argv NUL-terminated and null-ended, every word inside the Tokens
// object; the line is an exact-size copy without a NUL, so ASan sees a read
// past its length (a NUL inside the line ends a word's C string). parse_u64 of every word (and of the raw input) matches
// a 128-bit reference: the value, InvalidArgument or TooLong.
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>

#include "shell/tokenizer.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/reference_tokenizer.h"

using exo::Error;
using exo::Result;
using exo::Tokens;

namespace {

void check_u64(const char* text)
{
    Result<uint64_t> got = exo::parse_u64(text);
    const char* p = text;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    bool bad = *p == '\0';
    bool too_big = false;
    unsigned __int128 value = 0;
    for (; *p != '\0' && !bad && !too_big; ++p) {
        int digit = -1;
        if (*p >= '0' && *p <= '9')
            digit = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            digit = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            digit = *p - 'A' + 10;
        if (digit < 0) {
            bad = true;
            break;
        }
        value = value * base + static_cast<unsigned>(digit);
        too_big = value > UINT64_MAX;
    }
    if (bad)
        FUZZ_CHECK(!got.ok() && got.error() == Error::InvalidArgument);
    else if (too_big)
        FUZZ_CHECK(!got.ok() && got.error() == Error::TooLong);
    else
        FUZZ_CHECK(got.ok() && got.value() == static_cast<uint64_t>(value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::unique_ptr<char[]> line(new char[size]);
    memcpy(line.get(), data, size);
    auto tokens = std::make_unique<Tokens>();
    Result<void> got = tokens->parse(line.get(), size);
    exo::fuzz::ReferenceWords want = exo::fuzz::reference_tokenize(
        std::string(reinterpret_cast<const char*>(data), size), Tokens::kMaxLineLength, Tokens::kMaxArgs);

    FUZZ_CHECK(got.ok() == want.ok);
    if (!got.ok()) {
        FUZZ_CHECK(got.error() == want.error);
        FUZZ_CHECK(tokens->argc() == 0 && tokens->argv()[0] == nullptr);
    } else {
        FUZZ_CHECK(static_cast<size_t>(tokens->argc()) == want.words.size());
        const char* begin = reinterpret_cast<const char*>(tokens.get());
        const char* end = begin + sizeof(Tokens);
        for (size_t i = 0; i < want.words.size(); ++i) {
            const char* word = tokens->argv()[i];
            FUZZ_CHECK(word >= begin && word < end);
            size_t n = strnlen(word, static_cast<size_t>(end - word));
            FUZZ_CHECK(word + n < end);  // NUL-terminated inside the object
            // A NUL in the line (gdb's monitor can send one) ends the word's C string.
            FUZZ_CHECK(std::string(word, n) == want.words[i].substr(0, want.words[i].find('\0')));
            FUZZ_CHECK((*tokens)[i] == word);
            check_u64(word);
        }
        FUZZ_CHECK(tokens->argv()[want.words.size()] == nullptr);
        FUZZ_CHECK((*tokens)[want.words.size()] == nullptr);
    }
    std::string text(reinterpret_cast<const char*>(data), size);
    check_u64(text.c_str());
    return 0;
}
