#include "kernel/boot/cmdline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace exo {
namespace {

struct Report {
    std::string token;
    CmdlineProblem problem;
};

void collect(void* ctx, const char* token, size_t length, CmdlineProblem problem)
{
    static_cast<std::vector<Report>*>(ctx)->push_back(Report {std::string(token, length), problem});
}

struct Parsed {
    KernelOptions options;
    std::vector<Report> reports;
    size_t count = 0;
};

Parsed parse(const char* cmdline)
{
    Parsed p;
    p.count = parse_cmdline(cmdline, p.options, &collect, &p.reports);
    EXPECT_EQ(p.count, p.reports.size());
    return p;
}

bool is_default(const KernelOptions& o)
{
    return o.deferred == DeferredMode::Manual && o.gdb == GdbMode::On && o.log == LogVerbosity::Normal;
}

TEST(Cmdline, DefaultsMatchTheContract)
{
    KernelOptions o;
    EXPECT_TRUE(is_default(o));
}

TEST(Cmdline, EmptyAndNullAreDefaults)
{
    for (const char* s : {"", "   ", "\t \t", static_cast<const char*>(nullptr)}) {
        Parsed p = parse(s);
        EXPECT_TRUE(is_default(p.options));
        EXPECT_TRUE(p.reports.empty());
    }
}

TEST(Cmdline, DeferredOption)
{
    EXPECT_EQ(parse("deferred=auto").options.deferred, DeferredMode::Auto);
    EXPECT_EQ(parse("deferred=manual").options.deferred, DeferredMode::Manual);
    // Later tokens win.
    EXPECT_EQ(parse("deferred=manual deferred=auto").options.deferred, DeferredMode::Auto);
    EXPECT_EQ(parse("deferred=auto deferred=manual").options.deferred, DeferredMode::Manual);
}

TEST(Cmdline, GdbOption)
{
    EXPECT_EQ(parse("gdb=wait").options.gdb, GdbMode::Wait);
    EXPECT_EQ(parse("gdb=panic").options.gdb, GdbMode::Panic);
    EXPECT_EQ(parse("gdb=wait gdb=off").options.gdb, GdbMode::Off);
    EXPECT_EQ(parse("gdb=off gdb=on").options.gdb, GdbMode::On);
}

TEST(Cmdline, LogOption)
{
    EXPECT_EQ(parse("log=quiet").options.log, LogVerbosity::Quiet);
    EXPECT_EQ(parse("log=normal").options.log, LogVerbosity::Normal);
    EXPECT_EQ(parse("log=verbose").options.log, LogVerbosity::Verbose);
}

TEST(Cmdline, AllOptionsTogetherWithOddSpacing)
{
    Parsed p = parse("  deferred=auto\t\tgdb=wait \n log=verbose  ");
    EXPECT_EQ(p.options.deferred, DeferredMode::Auto);
    EXPECT_EQ(p.options.gdb, GdbMode::Wait);
    EXPECT_EQ(p.options.log, LogVerbosity::Verbose);
    EXPECT_TRUE(p.reports.empty());
}

TEST(Cmdline, BadValuesAreReportedAndIgnored)
{
    Parsed p = parse("log=verbose deferred=later gdb=WAIT log=loud log= deferred=autox");
    EXPECT_TRUE(p.options.deferred == DeferredMode::Manual);
    EXPECT_EQ(p.options.gdb, GdbMode::On);
    EXPECT_EQ(p.options.log, LogVerbosity::Verbose);  // the good token before still counts
    ASSERT_EQ(p.reports.size(), 5u);
    EXPECT_EQ(p.reports[0].token, "deferred=later");
    EXPECT_EQ(p.reports[1].token, "gdb=WAIT");
    EXPECT_EQ(p.reports[2].token, "log=loud");
    EXPECT_EQ(p.reports[3].token, "log=");
    EXPECT_EQ(p.reports[4].token, "deferred=autox");
    for (const Report& r : p.reports) {
        EXPECT_EQ(r.problem, CmdlineProblem::BadValue);
    }
    EXPECT_STREQ(cmdline_problem_text(CmdlineProblem::BadValue), "bad value");
}

TEST(Cmdline, AValueOfAnotherOptionIsABadValue)
{
    // Each value is looked up in its own option's list only.
    Parsed p = parse("gdb=auto log=wait deferred=quiet");
    EXPECT_EQ(p.options.deferred, DeferredMode::Manual);
    EXPECT_EQ(p.options.gdb, GdbMode::On);
    EXPECT_EQ(p.options.log, LogVerbosity::Normal);
    ASSERT_EQ(p.reports.size(), 3u);
    for (const Report& r : p.reports) {
        EXPECT_EQ(r.problem, CmdlineProblem::BadValue) << r.token;
    }
}

TEST(Cmdline, UnknownOptionsAreReportedAndIgnored)
{
    Parsed p = parse("console=ttyS0 quiet deferred=auto =x Deferred=auto logx=quiet");
    EXPECT_EQ(p.options.deferred, DeferredMode::Auto);
    EXPECT_EQ(p.options.log, LogVerbosity::Normal);
    ASSERT_EQ(p.reports.size(), 5u);
    EXPECT_EQ(p.reports[0].token, "console=ttyS0");
    EXPECT_EQ(p.reports[1].token, "quiet");
    EXPECT_EQ(p.reports[2].token, "=x");
    EXPECT_EQ(p.reports[3].token, "Deferred=auto");  // keys are case-sensitive
    EXPECT_EQ(p.reports[4].token, "logx=quiet");
    for (const Report& r : p.reports)
        EXPECT_EQ(r.problem, CmdlineProblem::UnknownOption);
    EXPECT_STREQ(cmdline_problem_text(CmdlineProblem::UnknownOption), "unknown option");
}

TEST(Cmdline, BareKnownKeyIsMissingItsValue)
{
    Parsed p = parse("gdb log");
    EXPECT_TRUE(is_default(p.options));
    ASSERT_EQ(p.reports.size(), 2u);
    EXPECT_EQ(p.reports[0].token, "gdb");
    EXPECT_EQ(p.reports[0].problem, CmdlineProblem::MissingValue);
    EXPECT_EQ(p.reports[1].problem, CmdlineProblem::MissingValue);
}

TEST(Cmdline, KernelPathFirstIsSkipped)
{
    Parsed p = parse("/boot/exo-kernel deferred=auto");
    EXPECT_EQ(p.options.deferred, DeferredMode::Auto);
    EXPECT_TRUE(p.reports.empty());

    p = parse("   /boot/exo-kernel");
    EXPECT_TRUE(p.reports.empty());

    // Only the first token: a path later is an unknown option.
    p = parse("log=quiet /boot/exo-kernel");
    EXPECT_EQ(p.options.log, LogVerbosity::Quiet);
    ASSERT_EQ(p.reports.size(), 1u);
    EXPECT_EQ(p.reports[0].token, "/boot/exo-kernel");
}

TEST(Cmdline, NullCallbackStillCounts)
{
    KernelOptions o;
    EXPECT_EQ(parse_cmdline("bogus log=quiet deferred=x", o, nullptr, nullptr), 2u);
    EXPECT_EQ(o.log, LogVerbosity::Quiet);
}

TEST(Cmdline, OverlongTokenIsReportedTruncated)
{
    std::string longtok = "log=" + std::string(5000, 'v');
    std::string line = "gdb=wait " + longtok + " deferred=auto";
    Parsed p = parse(line.c_str());
    EXPECT_EQ(p.options.gdb, GdbMode::Wait);
    // deferred=auto lies beyond the kMaxCmdlineLength bytes that are scanned.
    EXPECT_EQ(p.options.deferred, DeferredMode::Manual);
    ASSERT_EQ(p.reports.size(), 1u);
    EXPECT_EQ(p.reports[0].problem, CmdlineProblem::TooLong);
    EXPECT_EQ(p.reports[0].token.size(), kMaxTokenLength);
    EXPECT_EQ(p.reports[0].token.substr(0, 6), "log=vv");
}

TEST(Cmdline, TokenAtTheLengthLimitIsParsed)
{
    std::string key(kMaxTokenLength, 'k');
    Parsed p = parse(key.c_str());
    ASSERT_EQ(p.reports.size(), 1u);
    EXPECT_EQ(p.reports[0].problem, CmdlineProblem::UnknownOption);
    EXPECT_EQ(p.reports[0].token, key);

    // A token just over the limit is too long.
    key += 'k';
    p = parse(key.c_str());
    ASSERT_EQ(p.reports.size(), 1u);
    EXPECT_EQ(p.reports[0].problem, CmdlineProblem::TooLong);
}

TEST(Cmdline, ScanningStopsAtTheBound)
{
    // No terminator inside the bound: parsing reads at most kMaxCmdlineLength bytes.
    std::vector<char> buffer(kMaxCmdlineLength + 64, ' ');
    const char tail[] = "log=quiet";
    std::copy(tail, tail + sizeof tail, buffer.end() - sizeof tail);
    Parsed p = parse(buffer.data());
    EXPECT_EQ(p.options.log, LogVerbosity::Normal);
    EXPECT_TRUE(p.reports.empty());

    // Inside the bound it is seen.
    std::vector<char> shorter(kMaxCmdlineLength - 64, ' ');
    std::copy(tail, tail + sizeof tail, shorter.end() - sizeof tail);
    EXPECT_EQ(parse(shorter.data()).options.log, LogVerbosity::Quiet);
}

TEST(Cmdline, FindOption)
{
    const char* line = "/boot/exo-kernel console=ttyS0,115200 nosmp log=quiet console=com2";
    Result<CmdlineText> v = find_option(line, "console");
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(std::string(v.value().text, v.value().length), "com2");  // last wins
    EXPECT_TRUE(v.value().equals("com2"));
    EXPECT_FALSE(v.value().equals("com"));

    v = find_option(line, "nosmp");
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v.value().length, 0u);

    EXPECT_EQ(find_option(line, "log").value().length, 5u);
    EXPECT_EQ(find_option(line, "lo").error(), Error::NotFound);
    EXPECT_EQ(find_option(line, "/boot/exo-kernel").error(), Error::NotFound);
    EXPECT_EQ(find_option(line, "").error(), Error::NotFound);
    EXPECT_EQ(find_option(line, nullptr).error(), Error::NotFound);
    EXPECT_EQ(find_option(nullptr, "log").error(), Error::NotFound);
    EXPECT_EQ(find_option("", "log").error(), Error::NotFound);

    // Values may themselves contain '='.
    v = find_option("init=a=b", "init");
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v.value().equals("a=b"));
}

TEST(Cmdline, NamesForTheBootLog)
{
    EXPECT_STREQ(deferred_mode_name(DeferredMode::Auto), "auto");
    EXPECT_STREQ(deferred_mode_name(DeferredMode::Manual), "manual");
    EXPECT_STREQ(gdb_mode_name(GdbMode::Panic), "panic");
    EXPECT_STREQ(log_verbosity_name(LogVerbosity::Verbose), "verbose");
    EXPECT_STREQ(cmdline_problem_text(CmdlineProblem::MissingValue), "missing value");
    EXPECT_STREQ(cmdline_problem_text(CmdlineProblem::TooLong), "too long");
}

}  // namespace
}  // namespace exo
