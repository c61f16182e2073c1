#include "kernel/boot/boot_runner.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace exo {
namespace {

// Test-wide state the task bodies and probes share (bodies are plain
// function pointers, so there is no other way in). Reset by the fixture.
struct Behaviour {
    Result<void> result;
    uint64_t frames = 0;       // frames the body allocates
    int64_t heap = 0;          // heap bytes the body allocates (negative: frees)
    uint64_t tsc_advance = 0;  // TSC ticks the body takes
};

constexpr int kBodies = 16;
Behaviour g_behaviour[kBodies];
std::vector<int> g_ran;
uint64_t g_tsc = 0;
uint64_t g_frames = 0;
uint64_t g_heap = 0;
std::vector<std::string> g_critical;  // "name:error"
std::vector<std::string> g_events;    // "name:status"
BootRunner* g_runner = nullptr;       // for bodies that poke the runner

template<int N>
Result<void> body()
{
    g_ran.push_back(N);
    const Behaviour& b = g_behaviour[N];
    g_frames += b.frames;
    g_heap = static_cast<uint64_t>(static_cast<int64_t>(g_heap) + b.heap);
    g_tsc += b.tsc_advance;
    return b.result;
}

uint64_t read_tsc() { return ++g_tsc; }
uint64_t frames_used() { return g_frames; }
uint64_t heap_used() { return g_heap; }

void on_critical(const BootTask& task, Error error)
{
    g_critical.push_back(std::string(task.name) + ":" + error_name(error));
}

void on_event(const BootTask& task, const BootRecord& record)
{
    g_events.push_back(std::string(task.name) + ":" + task_status_name(record.status));
}

constexpr BootProbes kProbes {&read_tsc, &frames_used, &heap_used, &on_critical, &on_event, &BootRunner::validate_lazily};

// Tasks are constexpr aggregates that can live in constinit storage.
constexpr const char* kNeedsSerial[] = {"serial", nullptr};
constinit const BootTask kConstinitTasks[] = {
    {"serial", BootPhase::Critical, nullptr, &body<0>},
    {"log", BootPhase::Critical, kNeedsSerial, &body<1>},
};
constexpr BootTask kConstexprTask {"log", BootPhase::Critical, kNeedsSerial, &body<1>};
static_assert(kConstexprTask.depends_on[1] == nullptr);

class BootRunnerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (Behaviour& b : g_behaviour)
            b = Behaviour {};
        g_ran.clear();
        g_tsc = 1000;
        g_frames = 0;
        g_heap = 0;
        g_critical.clear();
        g_events.clear();
        g_runner = nullptr;
    }

    // The names of the tasks that ran, in order, e.g. "a,b,c".
    static std::string order(const BootTask* tasks, size_t count)
    {
        std::string out;
        for (int n : g_ran) {
            for (size_t i = 0; i < count; ++i) {
                if (tasks[i].run == body_for(n)) {
                    if (!out.empty())
                        out += ",";
                    out += tasks[i].name;
                }
            }
        }
        return out;
    }

    static BootTaskFn body_for(int n)
    {
        static constexpr BootTaskFn kBodyFns[kBodies] = {&body<0>, &body<1>, &body<2>, &body<3>, &body<4>,
            &body<5>, &body<6>, &body<7>, &body<8>, &body<9>, &body<10>, &body<11>, &body<12>, &body<13>,
            &body<14>, &body<15>};
        return kBodyFns[n];
    }

    static void run_boot(BootRunner& runner)
    {
        ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
        ASSERT_TRUE(runner.run_phase(BootPhase::Essential).ok());
        ASSERT_TRUE(runner.mark_optional_pending().ok());
    }
};

constexpr const char* kNone[] = {nullptr};
constexpr const char* kNeedsA[] = {"a", nullptr};
constexpr const char* kNeedsB[] = {"b", nullptr};
constexpr const char* kNeedsC[] = {"c", nullptr};
constexpr const char* kNeedsBC[] = {"b", "c", nullptr};
constexpr const char* kNeedsY[] = {"y", nullptr};

TEST_F(BootRunnerTest, ConstinitTasksValidateAndRun)
{
    BootRecord records[2];
    BootRunner runner(kConstinitTasks, 2, records, kProbes);
    ASSERT_TRUE(runner.validate().ok());
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_EQ(order(kConstinitTasks, 2), "serial,log");
    EXPECT_TRUE(records[1].needs.contains(0));
}

TEST_F(BootRunnerTest, DiamondRunsInDependencyOrder)
{
    const BootTask tasks[] = {
        {"d", BootPhase::Critical, kNeedsBC, &body<0>},
        {"b", BootPhase::Critical, kNeedsA, &body<1>},
        {"c", BootPhase::Critical, kNeedsA, &body<2>},
        {"a", BootPhase::Critical, nullptr, &body<3>},
    };
    BootRecord records[4];
    BootRunner runner(tasks, 4, records, kProbes);
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_EQ(order(tasks, 4), "a,b,c,d");
    EXPECT_EQ(runner.count(TaskStatus::Ok), 4u);
    EXPECT_TRUE(g_critical.empty());
}

// adopt(): requirements resolved ahead of time (the kernel's come from
// cmake/gen_boot_graph.py) run the same order as validate() by name.
TEST_F(BootRunnerTest, AdoptedMasksRunLikeValidatedNames)
{
    const BootTask tasks[] = {
        {"d", BootPhase::Critical, kNeedsBC, &body<0>},
        {"b", BootPhase::Critical, kNeedsA, &body<1>},
        {"c", BootPhase::Critical, kNeedsA, &body<2>},
        {"a", BootPhase::Critical, nullptr, &body<3>},
        {"e", BootPhase::Essential, kNeedsC, &body<4>},
    };
    BootRecord by_name[5];
    BootRunner validated(tasks, 5, by_name, kProbes);
    ASSERT_TRUE(validated.validate().ok());
    run_boot(validated);
    std::string expected = order(tasks, 5);
    uint32_t masks[5] {};
    for (size_t i = 0; i < 5; ++i) {
        for (size_t d = 0; d < 5; ++d) {
            if (by_name[i].needs.contains(d))
                masks[i] |= 1u << d;
        }
    }
    EXPECT_EQ(masks[0], 0b0110u);  // d needs b and c
    EXPECT_EQ(masks[4], 0b0100u);  // e needs c

    g_ran.clear();
    BootRecord records[5];
    BootRunner adopted(tasks, 5, records, kProbes);
    ASSERT_TRUE(adopted.adopt(masks, 5).ok());
    run_boot(adopted);
    EXPECT_EQ(order(tasks, 5), expected);
    EXPECT_EQ(expected, "a,b,c,d,e");
    for (size_t i = 0; i < 5; ++i)
        EXPECT_TRUE(records[i].needs.contains_all(by_name[i].needs) && by_name[i].needs.contains_all(records[i].needs));
    EXPECT_EQ(adopted.issue().problem, BootProblem::None);
}

TEST_F(BootRunnerTest, AdoptRejectsMasksThatDoNotFitTheTable)
{
    const BootTask tasks[] = {
        {"a", BootPhase::Critical, nullptr, &body<0>},
        {"b", BootPhase::Critical, kNeedsA, &body<1>},
    };
    BootRecord records[2];
    BootRunner runner(tasks, 2, records, kProbes);
    const uint32_t good[] = {0, 0b01};
    const uint32_t self[] = {0b01, 0};
    const uint32_t beyond[] = {0, 0b101};
    EXPECT_EQ(runner.adopt(good, 1).error(), Error::InvalidArgument);
    EXPECT_EQ(runner.adopt(self, 2).error(), Error::InvalidArgument);
    EXPECT_EQ(runner.adopt(beyond, 2).error(), Error::InvalidArgument);
    ASSERT_TRUE(runner.adopt(good, 2).ok());
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_EQ(order(tasks, 2), "a,b");
    EXPECT_EQ(runner.adopt(good, 2).error(), Error::Busy);
}

TEST_F(BootRunnerTest, RunOneEndsOnACycleInAdoptedMasks)
{
    // Masks that did not come from this table: each Optional task needs the
    // other. The phases finish (neither task is ever ready); `init a` must
    // answer, not walk the cycle forever.
    const BootTask tasks[] = {
        {"a", BootPhase::Optional, nullptr, &body<0>},
        {"b", BootPhase::Optional, nullptr, &body<1>},
    };
    BootRecord records[2];
    BootRunner runner(tasks, 2, records, kProbes);
    const uint32_t cycle[] = {0b10, 0b01};
    ASSERT_TRUE(runner.adopt(cycle, 2).ok());
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    ASSERT_TRUE(runner.run_phase(BootPhase::Essential).ok());
    ASSERT_TRUE(runner.mark_optional_pending().ok());
    EXPECT_EQ(runner.run_deferred(), 0u);
    EXPECT_EQ(runner.run_one("a").error(), Error::Corrupt);
    EXPECT_EQ(order(tasks, 2), "");
}

TEST_F(BootRunnerTest, IndependentTasksKeepDeclarationOrder)
{
    // Same diamond, c declared before b: c runs first.
    const BootTask tasks[] = {
        {"d", BootPhase::Critical, kNeedsBC, &body<0>},
        {"c", BootPhase::Critical, kNeedsA, &body<1>},
        {"b", BootPhase::Critical, kNeedsA, &body<2>},
        {"a", BootPhase::Critical, kNone, &body<3>},
    };
    BootRecord records[4];
    BootRunner runner(tasks, 4, records, kProbes);
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_EQ(order(tasks, 4), "a,c,b,d");
}

TEST_F(BootRunnerTest, ReadyTaskDeclaredFirstRunsFirst)
{
    // z waits for y; x is independent and declared before y.
    const BootTask tasks[] = {
        {"z", BootPhase::Essential, kNeedsY, &body<0>},
        {"x", BootPhase::Essential, nullptr, &body<1>},
        {"y", BootPhase::Essential, nullptr, &body<2>},
    };
    BootRecord records[3];
    BootRunner runner(tasks, 3, records, kProbes);
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_TRUE(g_ran.empty());
    ASSERT_TRUE(runner.run_phase(BootPhase::Essential).ok());
    EXPECT_EQ(order(tasks, 3), "x,y,z");
}

TEST_F(BootRunnerTest, CycleIsDetectedAndNamed)
{
    constexpr const char* kNeedsAandD[] = {"d", "a", nullptr};
    const BootTask tasks[] = {
        {"d", BootPhase::Critical, nullptr, &body<0>},
        {"a", BootPhase::Critical, kNeedsC, &body<1>},
        {"e", BootPhase::Critical, kNeedsA, &body<2>},  // behind the cycle, not on it
        {"b", BootPhase::Critical, kNeedsAandD, &body<3>},
        {"c", BootPhase::Critical, kNeedsB, &body<4>},
    };
    BootRecord records[5];
    BootRunner runner(tasks, 5, records, kProbes);
    Result<void> r = runner.validate();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::Corrupt);
    EXPECT_EQ(runner.issue().problem, BootProblem::Cycle);

    uint16_t path[8] = {};
    size_t length = runner.cycle_path(path, 8);
    ASSERT_EQ(length, 3u);
    std::string members;
    for (size_t i = 0; i < length; ++i)
        members += tasks[path[i]].name;
    // Starts at issue().task, each member requires the next, the last the first.
    EXPECT_EQ(path[0], runner.issue().task);
    EXPECT_EQ(path[1], runner.issue().other);
    EXPECT_TRUE(members == "acb" || members == "cba" || members == "bac") << members;
    for (size_t i = 0; i < length; ++i)
        EXPECT_TRUE(records[path[i]].needs.contains(path[(i + 1) % length]));

    // A short buffer still reports the full length.
    EXPECT_EQ(runner.cycle_path(path, 1), 3u);

    // Nothing runs after a failed validation.
    r = runner.run_phase(BootPhase::Critical);
    EXPECT_EQ(r.error(), Error::Corrupt);
    EXPECT_TRUE(g_ran.empty());
    EXPECT_EQ(runner.run_one("d").error(), Error::Corrupt);
    EXPECT_EQ(runner.run_deferred(), 0u);
}

TEST_F(BootRunnerTest, SelfRequirementIsACycle)
{
    const BootTask tasks[] = {{"a", BootPhase::Essential, kNeedsA, &body<0>}};
    BootRecord records[1];
    BootRunner runner(tasks, 1, records, kProbes);
    EXPECT_EQ(runner.validate().error(), Error::Corrupt);
    EXPECT_EQ(runner.issue().problem, BootProblem::Cycle);
    uint16_t path[2] = {kNoTask, kNoTask};
    EXPECT_EQ(runner.cycle_path(path, 2), 1u);
    EXPECT_EQ(path[0], 0);
}

TEST_F(BootRunnerTest, UnknownRequirementIsReported)
{
    constexpr const char* kNeedsNope[] = {"a", "nope", nullptr};
    const BootTask tasks[] = {
        {"a", BootPhase::Critical, nullptr, &body<0>},
        {"b", BootPhase::Critical, kNeedsNope, &body<1>},
    };
    BootRecord records[2];
    BootRunner runner(tasks, 2, records, kProbes);
    EXPECT_EQ(runner.validate().error(), Error::NotFound);
    EXPECT_EQ(runner.issue().problem, BootProblem::UnknownRequirement);
    EXPECT_EQ(runner.issue().task, 1);
    EXPECT_STREQ(runner.issue().requirement, "nope");
    EXPECT_EQ(runner.cycle_path(nullptr, 0), 0u);
}

TEST_F(BootRunnerTest, EarlierPhaseCannotRequireLaterPhase)
{
    const BootTask tasks[] = {
        {"a", BootPhase::Essential, nullptr, &body<0>},
        {"b", BootPhase::Critical, kNeedsA, &body<1>},
    };
    BootRecord records[2];
    BootRunner runner(tasks, 2, records, kProbes);
    EXPECT_EQ(runner.validate().error(), Error::InvalidArgument);
    EXPECT_EQ(runner.issue().problem, BootProblem::PhaseInversion);
    EXPECT_EQ(runner.issue().task, 1);
    EXPECT_EQ(runner.issue().other, 0);

    const BootTask optional_first[] = {
        {"a", BootPhase::Optional, nullptr, &body<0>},
        {"b", BootPhase::Essential, kNeedsA, &body<1>},
    };
    BootRunner runner2(optional_first, 2, records, kProbes);
    EXPECT_EQ(runner2.validate().error(), Error::InvalidArgument);
    EXPECT_EQ(runner2.issue().problem, BootProblem::PhaseInversion);
}

TEST_F(BootRunnerTest, LaterPhaseMayRequireEarlierPhase)
{
    const BootTask tasks[] = {
        {"c", BootPhase::Optional, kNeedsB, &body<0>},
        {"b", BootPhase::Essential, kNeedsA, &body<1>},
        {"a", BootPhase::Critical, nullptr, &body<2>},
    };
    BootRecord records[3];
    BootRunner runner(tasks, 3, records, kProbes);
    ASSERT_TRUE(runner.validate().ok());
    run_boot(runner);
    EXPECT_EQ(runner.run_deferred(), 1u);
    EXPECT_EQ(order(tasks, 3), "a,b,c");
}

TEST_F(BootRunnerTest, DuplicateNamesRejected)
{
    // Distinct storage, same text: compared by content, not pointer.
    static const char kName1[] = "uart";
    static const char kName2[] = "uart";
    const BootTask tasks[] = {
        {kName1, BootPhase::Critical, nullptr, &body<0>},
        {"other", BootPhase::Critical, nullptr, &body<1>},
        {kName2, BootPhase::Essential, nullptr, &body<2>},
    };
    BootRecord records[3];
    BootRunner runner(tasks, 3, records, kProbes);
    EXPECT_EQ(runner.validate().error(), Error::InvalidArgument);
    EXPECT_EQ(runner.issue().problem, BootProblem::DuplicateName);
    EXPECT_EQ(runner.issue().task, 2);
    EXPECT_EQ(runner.issue().other, 0);
}

TEST_F(BootRunnerTest, MissingFieldsRejected)
{
    BootRecord records[1];
    const BootTask no_run[] = {{"a", BootPhase::Critical, nullptr, nullptr}};
    BootRunner r1(no_run, 1, records, kProbes);
    EXPECT_EQ(r1.validate().error(), Error::InvalidArgument);
    EXPECT_EQ(r1.issue().problem, BootProblem::MissingField);

    const BootTask no_name[] = {{nullptr, BootPhase::Critical, nullptr, &body<0>}};
    BootRunner r2(no_name, 1, records, kProbes);
    EXPECT_EQ(r2.validate().error(), Error::InvalidArgument);
    EXPECT_EQ(r2.find("a").error(), Error::NotFound);

    const BootTask empty_name[] = {{"", BootPhase::Critical, nullptr, &body<0>}};
    BootRunner r3(empty_name, 1, records, kProbes);
    EXPECT_EQ(r3.validate().error(), Error::InvalidArgument);

    const BootTask bad_phase[] = {{"a", static_cast<BootPhase>(7), nullptr, &body<0>}};
    BootRunner r4(bad_phase, 1, records, kProbes);
    EXPECT_EQ(r4.validate().error(), Error::InvalidArgument);
    EXPECT_EQ(r4.issue().problem, BootProblem::BadPhase);
}

TEST_F(BootRunnerTest, TooManyTasksRejected)
{
    static char names[kMaxBootTasks + 1][8];
    static BootTask tasks[kMaxBootTasks + 1];
    static BootRecord records[kMaxBootTasks + 1];
    for (size_t i = 0; i <= kMaxBootTasks; ++i) {
        snprintf(names[i], sizeof names[i], "t%zu", i);
        tasks[i] = BootTask {names[i], BootPhase::Critical, nullptr, &body<0>};
    }
    BootRunner full(tasks, kMaxBootTasks, records, kProbes);
    EXPECT_TRUE(full.validate().ok());
    BootRunner over(tasks, kMaxBootTasks + 1, records, kProbes);
    EXPECT_EQ(over.validate().error(), Error::TooLong);
    EXPECT_EQ(over.issue().problem, BootProblem::TooManyTasks);
}

TEST_F(BootRunnerTest, LongChainAcrossAllTaskSlots)
{
    // t_i needs t_{i+1}: the last declared runs first, the first runs last.
    static char names[kMaxBootTasks][8];
    static const char* needs[kMaxBootTasks][2];
    static BootTask tasks[kMaxBootTasks];
    static BootRecord records[kMaxBootTasks];
    for (size_t i = 0; i < kMaxBootTasks; ++i)
        snprintf(names[i], sizeof names[i], "t%zu", i);
    for (size_t i = 0; i < kMaxBootTasks; ++i) {
        needs[i][0] = i + 1 < kMaxBootTasks ? names[i + 1] : nullptr;
        needs[i][1] = nullptr;
        tasks[i] = BootTask {names[i], BootPhase::Essential, needs[i], &body<0>};
    }
    BootRunner runner(tasks, kMaxBootTasks, records, kProbes);
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    ASSERT_TRUE(runner.run_phase(BootPhase::Essential).ok());
    EXPECT_EQ(runner.count(TaskStatus::Ok), kMaxBootTasks);
    for (size_t i = 0; i + 1 < kMaxBootTasks; ++i)
        EXPECT_GT(records[i].tsc_start, records[i + 1].tsc_end);
}

TEST_F(BootRunnerTest, CriticalFailureCallsHookWithTaskName)
{
    g_behaviour[1].result = Error::NoMemory;
    constexpr const char* kNeedsHeap[] = {"heap", nullptr};
    const BootTask tasks[] = {
        {"frames", BootPhase::Critical, nullptr, &body<0>},
        {"heap", BootPhase::Critical, nullptr, &body<1>},
        {"slab", BootPhase::Critical, kNeedsHeap, &body<2>},
    };
    BootRecord records[3];
    BootRunner runner(tasks, 3, records, kProbes);
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_TRUE(runner.critical_failed());
    EXPECT_FALSE(runner.degraded());
    EXPECT_EQ(records[1].status, TaskStatus::Failed);
    EXPECT_EQ(records[1].error, Error::NoMemory);
    // The dependent never ran; it is reported too, with the cause's error.
    EXPECT_EQ(records[2].status, TaskStatus::Skipped);
    EXPECT_EQ(records[2].blocked_by, 1);
    ASSERT_EQ(g_critical.size(), 2u);
    EXPECT_EQ(g_critical[0], "heap:out of memory");
    EXPECT_EQ(g_critical[1], "slab:out of memory");
    EXPECT_EQ(order(tasks, 3), "frames,heap");
}

TEST_F(BootRunnerTest, EssentialFailureDegradesAndBootGoesOn)
{
    g_behaviour[0].result = Error::Timeout;
    constexpr const char* kNeedsPs2[] = {"ps2", nullptr};
    constexpr const char* kNeedsKbd[] = {"keyboard", nullptr};
    const BootTask tasks[] = {
        {"ps2", BootPhase::Essential, nullptr, &body<0>},
        {"keyboard", BootPhase::Essential, kNeedsPs2, &body<1>},
        {"rtc", BootPhase::Essential, nullptr, &body<2>},
        {"console", BootPhase::Essential, kNeedsKbd, &body<3>},
        {"mouse", BootPhase::Optional, kNeedsPs2, &body<4>},
    };
    BootRecord records[5];
    BootRunner runner(tasks, 5, records, kProbes);
    run_boot(runner);
    EXPECT_TRUE(runner.degraded());
    EXPECT_FALSE(runner.critical_failed());
    EXPECT_TRUE(g_critical.empty());
    EXPECT_EQ(order(tasks, 5), "ps2,rtc");
    EXPECT_EQ(records[0].status, TaskStatus::Failed);
    EXPECT_EQ(records[1].status, TaskStatus::Skipped);
    EXPECT_EQ(records[1].error, Error::Timeout);
    EXPECT_EQ(records[1].blocked_by, 0);
    EXPECT_EQ(records[2].status, TaskStatus::Ok);
    // Skips propagate transitively, naming the nearest cause.
    EXPECT_EQ(records[3].status, TaskStatus::Skipped);
    EXPECT_EQ(records[3].blocked_by, 1);
    EXPECT_EQ(records[3].error, Error::Timeout);
    EXPECT_TRUE(records[3].is_failure());
    // An Optional task behind the failure is skipped when its turn comes.
    EXPECT_EQ(records[4].status, TaskStatus::Pending);
    EXPECT_EQ(runner.run_deferred(), 1u);
    EXPECT_EQ(records[4].status, TaskStatus::Skipped);
    EXPECT_EQ(records[4].context, RunContext::Deferred);
    EXPECT_EQ(runner.count(TaskStatus::Skipped), 3u);
    EXPECT_EQ(runner.count(TaskStatus::Failed), 1u);
    EXPECT_EQ(runner.count(TaskStatus::Ok), 1u);
}

TEST_F(BootRunnerTest, AbsentIsNotAFailure)
{
    g_behaviour[0].result = Error::Absent;  // no such hardware
    g_behaviour[2].result = Error::Absent;
    constexpr const char* kNeedsE1000[] = {"e1000", nullptr};
    constexpr const char* kNeedsCom2[] = {"com2", nullptr};
    const BootTask tasks[] = {
        {"com2", BootPhase::Critical, nullptr, &body<0>},
        {"gdb", BootPhase::Critical, kNeedsCom2, &body<1>},
        {"e1000", BootPhase::Essential, nullptr, &body<2>},
        {"net", BootPhase::Essential, kNeedsE1000, &body<3>},
    };
    BootRecord records[4];
    BootRunner runner(tasks, 4, records, kProbes);
    run_boot(runner);
    EXPECT_TRUE(g_critical.empty());
    EXPECT_FALSE(runner.critical_failed());
    EXPECT_FALSE(runner.degraded());
    EXPECT_EQ(records[0].status, TaskStatus::Absent);
    EXPECT_EQ(records[0].error, Error::Absent);
    EXPECT_FALSE(records[0].is_failure());
    EXPECT_EQ(records[1].status, TaskStatus::Skipped);
    EXPECT_EQ(records[1].error, Error::Absent);
    EXPECT_FALSE(records[1].is_failure());
    EXPECT_EQ(records[2].status, TaskStatus::Absent);
    EXPECT_EQ(records[3].status, TaskStatus::Skipped);
    EXPECT_EQ(runner.count(TaskStatus::Absent), 2u);
    EXPECT_EQ(order(tasks, 4), "com2,e1000");
}

TEST_F(BootRunnerTest, SkipBlamesAFailedRequirementOverAnAbsentOne)
{
    g_behaviour[0].result = Error::Absent;
    g_behaviour[1].result = Error::Corrupt;
    constexpr const char* kNeedsBoth[] = {"absent", "broken", nullptr};
    const BootTask tasks[] = {
        {"absent", BootPhase::Essential, nullptr, &body<0>},
        {"broken", BootPhase::Essential, nullptr, &body<1>},
        {"user", BootPhase::Essential, kNeedsBoth, &body<2>},
    };
    BootRecord records[3];
    BootRunner runner(tasks, 3, records, kProbes);
    run_boot(runner);
    EXPECT_EQ(records[2].status, TaskStatus::Skipped);
    EXPECT_EQ(records[2].blocked_by, 1);
    EXPECT_EQ(records[2].error, Error::Corrupt);
}

TEST_F(BootRunnerTest, OptionalTasksWaitThenRunDeferredOnce)
{
    const BootTask tasks[] = {
        {"opt_b", BootPhase::Optional, kNeedsA, &body<0>},
        {"core", BootPhase::Critical, nullptr, &body<1>},
        {"a", BootPhase::Optional, nullptr, &body<2>},
        {"opt_c", BootPhase::Optional, nullptr, &body<3>},
    };
    BootRecord records[4];
    BootRunner runner(tasks, 4, records, kProbes);
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    ASSERT_TRUE(runner.run_phase(BootPhase::Essential).ok());
    EXPECT_EQ(records[0].status, TaskStatus::NotRun);
    ASSERT_TRUE(runner.run_phase(BootPhase::Optional).ok());  // = mark_optional_pending
    EXPECT_EQ(order(tasks, 4), "core");
    EXPECT_EQ(runner.count(TaskStatus::Pending), 3u);
    EXPECT_EQ(records[1].context, RunContext::InPhase);

    g_ran.clear();
    EXPECT_EQ(runner.run_deferred(), 3u);
    EXPECT_EQ(order(tasks, 4), "a,opt_b,opt_c");
    for (size_t i : {0u, 2u, 3u}) {
        EXPECT_EQ(records[i].status, TaskStatus::Ok);
        EXPECT_EQ(records[i].context, RunContext::Deferred);
    }
    EXPECT_EQ(runner.run_deferred(), 0u);
    EXPECT_EQ(runner.count(TaskStatus::Pending), 0u);
    EXPECT_EQ(runner.run_one("opt_c").error(), Error::Busy);
    EXPECT_EQ(runner.mark_optional_pending().error(), Error::Busy);
}

TEST_F(BootRunnerTest, RunOneRunsPendingRequirementsFirst)
{
    constexpr const char* kNeedsOptA[] = {"opt_a", "core", nullptr};
    constexpr const char* kNeedsOptB[] = {"opt_b", nullptr};
    const BootTask tasks[] = {
        {"opt_c", BootPhase::Optional, kNeedsOptB, &body<0>},
        {"opt_b", BootPhase::Optional, kNeedsOptA, &body<1>},
        {"opt_a", BootPhase::Optional, nullptr, &body<2>},
        {"core", BootPhase::Critical, nullptr, &body<3>},
        {"other", BootPhase::Optional, nullptr, &body<4>},
    };
    BootRecord records[5];
    BootRunner runner(tasks, 5, records, kProbes);
    // Before the Optional phase is reached there is nothing to run.
    EXPECT_EQ(runner.run_one("opt_b").error(), Error::InvalidArgument);
    run_boot(runner);
    g_ran.clear();

    EXPECT_EQ(runner.run_one("nope").error(), Error::NotFound);
    EXPECT_EQ(runner.run_one(nullptr).error(), Error::NotFound);
    EXPECT_EQ(runner.run_one("core").error(), Error::Busy);

    Result<TaskStatus> r = runner.run_one("opt_b");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), TaskStatus::Ok);
    EXPECT_EQ(order(tasks, 5), "opt_a,opt_b");
    EXPECT_EQ(records[2].context, RunContext::Deferred);
    EXPECT_EQ(records[0].status, TaskStatus::Pending);
    EXPECT_EQ(runner.run_one("opt_b").error(), Error::Busy);
    EXPECT_EQ(runner.run_one("opt_a").error(), Error::Busy);

    g_ran.clear();
    EXPECT_EQ(runner.run_deferred(), 2u);
    EXPECT_EQ(order(tasks, 5), "opt_c,other");
    EXPECT_EQ(runner.run_deferred(), 0u);
}

TEST_F(BootRunnerTest, RunOneReportsTheTasksOwnOutcome)
{
    g_behaviour[0].result = Error::Absent;
    constexpr const char* kNeedsSnd[] = {"sound", nullptr};
    const BootTask tasks[] = {
        {"sound", BootPhase::Optional, nullptr, &body<0>},
        {"beep", BootPhase::Optional, kNeedsSnd, &body<1>},
    };
    BootRecord records[2];
    BootRunner runner(tasks, 2, records, kProbes);
    run_boot(runner);
    Result<TaskStatus> r = runner.run_one("beep");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), TaskStatus::Skipped);
    EXPECT_EQ(records[0].status, TaskStatus::Absent);
    EXPECT_EQ(order(tasks, 2), "sound");
}

TEST_F(BootRunnerTest, PhasesRunInOrderOnce)
{
    const BootTask tasks[] = {{"a", BootPhase::Critical, nullptr, &body<0>}};
    BootRecord records[1];
    BootRunner runner(tasks, 1, records, kProbes);
    EXPECT_EQ(runner.run_phase(BootPhase::Essential).error(), Error::InvalidArgument);
    EXPECT_EQ(runner.mark_optional_pending().error(), Error::InvalidArgument);
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_EQ(runner.run_phase(BootPhase::Critical).error(), Error::Busy);
    EXPECT_EQ(runner.mark_optional_pending().error(), Error::InvalidArgument);
    ASSERT_TRUE(runner.run_phase(BootPhase::Essential).ok());
    EXPECT_EQ(runner.run_phase(BootPhase::Essential).error(), Error::Busy);
    EXPECT_EQ(g_ran.size(), 1u);
    EXPECT_EQ(runner.run_deferred(), 0u);
}

TEST_F(BootRunnerTest, MemoryDeltasComeFromProbes)
{
    g_behaviour[0].frames = 3;
    g_behaviour[0].heap = 4096;
    g_behaviour[1].heap = -512;  // gives memory back
    g_behaviour[2].frames = 1;
    const BootTask tasks[] = {
        {"grow", BootPhase::Critical, nullptr, &body<0>},
        {"shrink", BootPhase::Essential, nullptr, &body<1>},
        {"late", BootPhase::Optional, nullptr, &body<2>},
    };
    BootRecord records[3];
    BootRunner runner(tasks, 3, records, kProbes);
    g_frames = 100;  // memory taken before the runner starts is not charged
    g_heap = 10000;
    run_boot(runner);
    EXPECT_EQ(runner.run_deferred(), 1u);
    EXPECT_EQ(records[0].frames_delta, 3);
    EXPECT_EQ(records[0].heap_delta, 4096);
    EXPECT_EQ(records[1].frames_delta, 0);
    EXPECT_EQ(records[1].heap_delta, -512);
    EXPECT_EQ(records[2].frames_delta, 1);
    EXPECT_EQ(records[2].heap_delta, 0);
}

TEST_F(BootRunnerTest, TscTimesAreOrderedAndSummedPerPhase)
{
    g_behaviour[0].tsc_advance = 100;
    g_behaviour[1].tsc_advance = 50;
    g_behaviour[2].tsc_advance = 7;
    g_behaviour[3].tsc_advance = 1000;
    g_behaviour[3].result = Error::Absent;  // absent tasks still took time
    const BootTask tasks[] = {
        {"a", BootPhase::Critical, nullptr, &body<0>},
        {"b", BootPhase::Critical, kNeedsA, &body<1>},
        {"c", BootPhase::Essential, nullptr, &body<2>},
        {"d", BootPhase::Optional, nullptr, &body<3>},
    };
    BootRecord records[4];
    BootRunner runner(tasks, 4, records, kProbes);
    run_boot(runner);
    EXPECT_EQ(runner.run_deferred(), 1u);
    // read_tsc itself ticks once per read, so each body shows its advance + 1.
    EXPECT_EQ(records[0].ticks(), 101u);
    EXPECT_EQ(records[1].ticks(), 51u);
    EXPECT_EQ(records[2].ticks(), 8u);
    EXPECT_EQ(records[3].ticks(), 1001u);
    for (size_t i = 0; i + 1 < 4; ++i) {
        EXPECT_LT(records[i].tsc_start, records[i].tsc_end);
        EXPECT_LT(records[i].tsc_end, records[i + 1].tsc_start);
    }
    EXPECT_EQ(runner.phase_ticks(BootPhase::Critical), 152u);
    EXPECT_EQ(runner.phase_ticks(BootPhase::Essential), 8u);
    EXPECT_EQ(runner.phase_ticks(BootPhase::Optional), 1001u);
    EXPECT_EQ(runner.total_ticks(), 1161u);
}

TEST_F(BootRunnerTest, EventsAnnounceStartAndEnd)
{
    g_behaviour[0].result = Error::Unsupported;
    const BootTask tasks[] = {
        {"a", BootPhase::Essential, nullptr, &body<0>},
        {"b", BootPhase::Essential, kNeedsA, &body<1>},
        {"c", BootPhase::Essential, nullptr, &body<2>},
    };
    BootRecord records[3];
    BootRunner runner(tasks, 3, records, kProbes);
    run_boot(runner);
    const std::vector<std::string> expected = {"a:running", "a:failed", "b:skipped", "c:running", "c:ok"};
    EXPECT_EQ(g_events, expected);
}

Result<void> reentrant_body()
{
    g_ran.push_back(99);
    Result<size_t> me = g_runner->running();
    EXPECT_TRUE(me.ok());
    EXPECT_EQ(me.value(), 0u);
    // A task must not drive the runner from inside.
    EXPECT_EQ(g_runner->run_deferred(), 0u);
    EXPECT_EQ(g_runner->run_one("later").error(), Error::Busy);
    EXPECT_EQ(g_runner->run_phase(BootPhase::Essential).error(), Error::Busy);
    return {};
}

TEST_F(BootRunnerTest, RunnerCannotBeReenteredFromATask)
{
    const BootTask tasks[] = {
        {"first", BootPhase::Optional, nullptr, &reentrant_body},
        {"later", BootPhase::Optional, nullptr, &body<0>},
    };
    BootRecord records[2];
    BootRunner runner(tasks, 2, records, kProbes);
    g_runner = &runner;
    run_boot(runner);
    EXPECT_EQ(runner.running().error(), Error::NotFound);
    ASSERT_TRUE(runner.run_one("first").ok());
    EXPECT_EQ(records[1].status, TaskStatus::Pending);
    EXPECT_EQ(runner.run_deferred(), 1u);
    EXPECT_EQ(g_ran, (std::vector<int> {99, 0}));
}

TEST_F(BootRunnerTest, NullProbesAreAllowed)
{
    g_behaviour[0].result = Error::Busy;
    const BootTask tasks[] = {{"a", BootPhase::Critical, nullptr, &body<0>}};
    BootRecord records[1];
    BootRunner runner(tasks, 1, records, BootProbes {});
    // No check hook: a run before validate() or adopt() is refused.
    EXPECT_EQ(runner.run_phase(BootPhase::Critical).error(), Error::InvalidArgument);
    EXPECT_EQ(records[0].status, TaskStatus::NotRun);
    ASSERT_TRUE(runner.validate().ok());
    ASSERT_TRUE(runner.run_phase(BootPhase::Critical).ok());
    EXPECT_TRUE(runner.critical_failed());
    EXPECT_EQ(records[0].tsc_start, 0u);
    EXPECT_EQ(records[0].ticks(), 0u);
    EXPECT_EQ(records[0].status, TaskStatus::Failed);
}

TEST_F(BootRunnerTest, EmptyTaskListIsFine)
{
    BootRunner runner(nullptr, 0, nullptr, kProbes);
    ASSERT_TRUE(runner.validate().ok());
    run_boot(runner);
    EXPECT_EQ(runner.run_deferred(), 0u);
    EXPECT_EQ(runner.total_ticks(), 0u);
    EXPECT_EQ(runner.find("x").error(), Error::NotFound);
}

TEST_F(BootRunnerTest, ConstructorResetsRecordsAndFindWorks)
{
    const BootTask tasks[] = {
        {"a", BootPhase::Critical, nullptr, &body<0>},
        {"b", BootPhase::Critical, nullptr, &body<1>},
    };
    BootRecord records[2];
    records[1].status = TaskStatus::Failed;
    records[1].tsc_start = 42;
    BootRunner runner(tasks, 2, records, kProbes);
    EXPECT_EQ(records[1].status, TaskStatus::NotRun);
    EXPECT_EQ(records[1].tsc_start, 0u);
    EXPECT_EQ(runner.find("b").value(), 1u);
    EXPECT_EQ(&runner.task(1), &tasks[1]);
    EXPECT_EQ(runner.records(), records);
    EXPECT_EQ(runner.size(), 2u);
}

TEST(TaskSetTest, AddRemoveIterate)
{
    TaskSet s;
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.first(), kMaxBootTasks);
    s.add(0);
    s.add(31);
    s.add(32);
    s.add(kMaxBootTasks - 1);
    EXPECT_EQ(s.size(), 4u);
    EXPECT_EQ(s.first(), 0u);
    EXPECT_EQ(s.next(1), 31u);
    EXPECT_EQ(s.next(32), 32u);
    EXPECT_EQ(s.next(33), kMaxBootTasks - 1);
    EXPECT_EQ(s.next(kMaxBootTasks), kMaxBootTasks);
    s.remove(31);
    EXPECT_FALSE(s.contains(31));
    TaskSet t;
    t.add(32);
    EXPECT_TRUE(s.contains_all(t));
    EXPECT_FALSE(t.contains_all(s));
    EXPECT_EQ(s.intersect(t).size(), 1u);
}

}  // namespace
}  // namespace exo
