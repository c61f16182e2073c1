// The shell's word-splitting rules (shell/tokenizer.h) written out again,
// plainly, with std::string: what tokenizer_fuzz and command_table_fuzz
// compare the real tokenizer and dispatcher with.
#pragma once

#include <stddef.h>

#include <string>
#include <vector>

#include "kernel/lib/result.h"

namespace exo::fuzz {

struct ReferenceWords {
    bool ok = true;
    Error error = Error::InvalidArgument;
    std::vector<std::string> words;
};

inline ReferenceWords reference_tokenize(const std::string& line, size_t max_line, size_t max_words)
{
    ReferenceWords r;
    auto fail = [&](Error e) {
        r.ok = false;
        r.error = e;
        r.words.clear();
        return r;
    };
    if (line.size() > max_line)
        return fail(Error::TooLong);
    size_t i = 0;
    for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        if (i == line.size())
            return r;
        if (r.words.size() == max_words)
            return fail(Error::TooLong);
        std::string word;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            char c = line[i++];
            if (c == '\'') {
                size_t close = line.find('\'', i);
                if (close == std::string::npos)
                    return fail(Error::InvalidArgument);
                word += line.substr(i, close - i);
                i = close + 1;
            } else if (c == '"') {
                for (;;) {
                    if (i == line.size())
                        return fail(Error::InvalidArgument);
                    char d = line[i++];
                    if (d == '"')
                        break;
                    if (d == '\\' && i < line.size() && (line[i] == '"' || line[i] == '\\'))
                        d = line[i++];
                    word += d;
                }
            } else {
                word += c;
            }
        }
        r.words.push_back(word);
    }
}

}  // namespace exo::fuzz
