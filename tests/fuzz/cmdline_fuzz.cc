// The kernel command line against its contract (kernel/boot/cmdline.h)
// written out again here: blank-separated tokens within the first 4096
// bytes, a leading /path skipped, key=value for deferred, gdb and log (later
// wins), and every other token reported once, in order, with the right
// problem and at most 128 bytes of its text. find_option gives the last
// value of a key (empty for a bare key). Run on a NUL-terminated copy, and
// (inputs starting with a multiple of 8) on the input padded to 4096 bytes
// with no NUL at all, in a buffer of exactly that size (the scan must stop
// at the bound).
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel/boot/cmdline.h"
#include "tests/fuzz/fuzz_check.h"

using namespace exo;

namespace {

struct Report {
    std::string text;
    CmdlineProblem problem;
};

void record(void* ctx, const char* token, size_t length, CmdlineProblem problem)
{
    static_cast<std::vector<Report>*>(ctx)->push_back({ std::string(token, length), problem });
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string> tokens_of(const std::string& line)
{
    std::vector<std::string> tokens;
    std::string scanned = line.substr(0, line.find('\0')).substr(0, kMaxCmdlineLength);
    size_t i = 0;
    while (i < scanned.size()) {
        while (i < scanned.size() && blank(scanned[i]))
            ++i;
        size_t start = i;
        while (i < scanned.size() && !blank(scanned[i]))
            ++i;
        if (i > start)
            tokens.push_back(scanned.substr(start, i - start));
    }
    if (!tokens.empty() && tokens[0][0] == '/')
        tokens.erase(tokens.begin());  // the kernel's own path
    return tokens;
}

// `all_keys`: find_option of every key in the line too, not only the known ones.
void check(const char* cmdline, const std::string& line, bool all_keys)
{
    static const char* const kKeys[] = { "deferred", "gdb", "log" };
    static const std::vector<std::string> kValues[] = {
        { "manual", "auto" }, { "on", "wait", "panic", "off" }, { "quiet", "normal", "verbose" }
    };
    uint8_t want[3] = { static_cast<uint8_t>(DeferredMode::Manual), static_cast<uint8_t>(GdbMode::On),
        static_cast<uint8_t>(LogVerbosity::Normal) };
    std::vector<Report> want_reports;
    std::vector<std::string> tokens = tokens_of(line);
    for (const std::string& t : tokens) {
        auto report = [&](CmdlineProblem p) { want_reports.push_back({ t.substr(0, kMaxTokenLength), p }); };
        if (t.size() > kMaxTokenLength) {
            report(CmdlineProblem::TooLong);
            continue;
        }
        size_t eq = t.find('=');
        std::string key = t.substr(0, eq);
        int k = -1;
        for (int i = 0; i < 3; ++i)
            k = key == kKeys[i] ? i : k;
        if (k < 0) {
            report(CmdlineProblem::UnknownOption);
        } else if (eq == std::string::npos) {
            report(CmdlineProblem::MissingValue);
        } else {
            std::string value = t.substr(eq + 1);
            int v = -1;
            for (size_t i = 0; i < kValues[k].size(); ++i)
                v = value == kValues[k][i] ? static_cast<int>(i) : v;
            if (v < 0)
                report(CmdlineProblem::BadValue);
            else
                want[k] = static_cast<uint8_t>(v);
        }
    }

    KernelOptions options;
    std::vector<Report> reports;
    size_t count = parse_cmdline(cmdline, options, record, &reports);
    FUZZ_CHECK(count == want_reports.size() && reports.size() == want_reports.size());
    for (size_t i = 0; i < reports.size(); ++i)
        FUZZ_CHECK(reports[i].text == want_reports[i].text && reports[i].problem == want_reports[i].problem);
    FUZZ_CHECK(static_cast<uint8_t>(options.deferred) == want[0] && static_cast<uint8_t>(options.gdb) == want[1]
        && static_cast<uint8_t>(options.log) == want[2]);
    KernelOptions quiet;
    if (all_keys)
        FUZZ_CHECK(parse_cmdline(cmdline, quiet, nullptr, nullptr) == count);

    // find_option: the last key=value (or bare key) of tokens within the limit.
    std::vector<std::string> keys = { "deferred", "gdb", "log", "console" };
    for (const std::string& t : tokens) {
        if (all_keys && t.size() <= kMaxTokenLength)
            keys.push_back(t.substr(0, t.find('=')));  // whatever keys the input has
    }
    for (const std::string& key : keys) {
        if (key.empty())
            continue;
        bool found = false;
        std::string value;
        for (const std::string& t : tokens) {
            if (t.size() <= kMaxTokenLength && t.substr(0, t.find('=')) == key) {
                found = true;
                value = t.find('=') == std::string::npos ? "" : t.substr(t.find('=') + 1);
            }
        }
        Result<CmdlineText> got = find_option(cmdline, key.c_str());
        FUZZ_CHECK(got.ok() == found);
        if (found) {
            FUZZ_CHECK(got.value().length == value.size());
            FUZZ_CHECK(value.empty() || memcmp(got.value().text, value.data(), value.size()) == 0);
            FUZZ_CHECK(got.value().equals(value.c_str()) || value.find('\0') != std::string::npos);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string line(reinterpret_cast<const char*>(data), size);
    std::unique_ptr<char[]> terminated(new char[size + 1]);
    memcpy(terminated.get(), data, size);
    terminated[size] = '\0';
    check(terminated.get(), line, true);

    // No NUL anywhere: only the 4096-byte bound ends the scan. (For one
    // input in eight: scanning 4 KiB every time would slow the rest down.)
    if (size != 0 && data[0] % 8 == 0) {
        std::string padded = line.substr(0, kMaxCmdlineLength);
        for (char& c : padded)
            c = c == '\0' ? ' ' : c;
        padded.resize(kMaxCmdlineLength, 'x');
        std::unique_ptr<char[]> unterminated(new char[kMaxCmdlineLength]);
        memcpy(unterminated.get(), padded.data(), kMaxCmdlineLength);
        check(unterminated.get(), padded, false);
    }

    KernelOptions defaults;
    FUZZ_CHECK(parse_cmdline(nullptr, defaults, record, nullptr) == 0);
    FUZZ_CHECK(!find_option(nullptr, "gdb").ok() && !find_option(terminated.get(), "").ok());
    return 0;
}
