// The boot task runner: pure code over a caller-provided span of BootTask
// descriptors and a same-length array of BootRecord (caller-owned storage, so
// the runner allocates nothing). Time and memory come through BootProbes, so
// host tests hand it counters and the kernel hands it rdtsc and its
// allocators.
//
// Order of use:
//   validate() or adopt()        (else run_phase() asks probes.check)
//   run_phase(Critical)          failure -> probes.on_critical_failure (panics)
//   run_phase(Essential)         failure -> degraded()
//   mark_optional_pending()      Optional tasks become Pending
//   run_deferred() / run_one()   from the shell (`init deferred`, `init NAME`)
//
// Within a phase, a task runs once everything it depends on has finished;
// among tasks that are ready, the one declared first runs first.
#pragma once

#include <bit>
#include <stddef.h>
#include <stdint.h>

#include "kernel/boot/boot_task.h"
#include "kernel/lib/result.h"

namespace exo {

// The runner tracks tasks in bit sets of one 64-bit word (two words cost
// 160 B of image); the kernel's build-checked graph holds 32 tasks
// (BootRunner::adopt). validate() rejects more with Error::TooLong.
constexpr size_t kMaxBootTasks = 64;
constexpr uint16_t kNoTask = 0xFFFF;

// A set of task indices below kMaxBootTasks: one bit each in one word.
class TaskSet {
public:
    constexpr void add(size_t i) { m_bits |= bit(i); }
    constexpr void remove(size_t i) { m_bits &= ~bit(i); }
    constexpr bool contains(size_t i) const { return (m_bits & bit(i)) != 0; }
    constexpr bool empty() const { return m_bits == 0; }

    // True when every member of `other` is in this set.
    constexpr bool contains_all(const TaskSet& other) const { return (other.m_bits & ~m_bits) == 0; }

    constexpr TaskSet intersect(const TaskSet& other) const { return from_mask(m_bits & other.m_bits); }

    // Lowest member >= from, or kMaxBootTasks when there is none.
    constexpr size_t next(size_t from) const
    {
        return from < kMaxBootTasks ? lowest(m_bits & ~uint64_t { 0 } << from) : kMaxBootTasks;
    }

    constexpr size_t first() const { return lowest(m_bits); }

    // intersect(other).first() without the temporary set.
    constexpr size_t first_shared(const TaskSet& other) const { return lowest(m_bits & other.m_bits); }

    // The set of tasks 0..63 whose bits are set in `mask`.
    static constexpr TaskSet from_mask(uint64_t mask)
    {
        TaskSet s;
        s.m_bits = mask;
        return s;
    }

    constexpr size_t size() const { return static_cast<size_t>(std::popcount(m_bits)); }

private:
    static_assert(kMaxBootTasks == 64 && kMaxBootTasks <= kNoTask);

    static constexpr uint64_t bit(size_t i) { return uint64_t { 1 } << i; }
    // countr_zero of 0 is 64, kMaxBootTasks: "none".
    static constexpr size_t lowest(uint64_t bits) { return static_cast<size_t>(std::countr_zero(bits)); }

    uint64_t m_bits = 0;
};

// How a task came to run: during its phase at boot, or later from the shell.
enum class RunContext : uint8_t {
    InPhase,
    Deferred,
};

struct BootRecord {
    uint64_t tsc_start = 0;  // read just before the body runs
    uint64_t tsc_end = 0;    // read just after it returns
    int64_t frames_delta = 0;  // physical frames the body took (negative: it gave some back)
    int64_t heap_delta = 0;    // heap bytes the body took
    TaskStatus status = TaskStatus::NotRun;
    Error error = Error::InvalidArgument;  // meaningful for Failed, Absent, Skipped
    RunContext context = RunContext::InPhase;
    uint16_t blocked_by = kNoTask;  // Skipped: the requirement that did not succeed
    TaskSet needs;  // requirement indices, resolved by validate()

    constexpr uint64_t ticks() const { return tsc_end - tsc_start; }

    // The body has returned (Skipped tasks never ran one).
    constexpr bool ran() const
    {
        return status == TaskStatus::Ok || status == TaskStatus::Failed || status == TaskStatus::Absent;
    }

    constexpr bool finished() const { return ran() || status == TaskStatus::Skipped; }

    // Missing hardware is not a failure, and neither is being skipped because
    // of missing hardware; a failed body, or a skip caused by one, is.
    constexpr bool is_failure() const
    {
        return status == TaskStatus::Failed || (status == TaskStatus::Skipped && error != Error::Absent);
    }
    // The status as `init` shows it: skipped for want of absent hardware
    // is "absent", as `drivers` says (vga without PCI).
    const char* shown_status() const
    {
        return status == TaskStatus::Skipped && !is_failure() ? "absent" : task_status_name(status);
    }
};

// The runner's view of the machine. Every member may be null: a null probe
// reads as 0 and a null hook is not called.
class BootRunner;

struct BootProbes {
    uint64_t (*read_tsc)() = nullptr;
    uint64_t (*frames_used)() = nullptr;  // physical frames allocated so far
    uint64_t (*heap_used)() = nullptr;    // heap bytes in use
    // A Critical task failed (or was skipped because a requirement failed).
    // The kernel panics here naming task.name; if it returns, the runner goes on.
    void (*on_critical_failure)(const BootTask& task, Error error) = nullptr;
    // Called when a body starts (record.status == Running, times not yet set)
    // and when a task reaches its final status. For the boot log.
    void (*on_event)(const BootTask& task, const BootRecord& record) = nullptr;
    // Checks the table when a run starts before validate() or adopt() did
    // (host tools pass &BootRunner::validate_lazily). Null: such a run is
    // refused (InvalidArgument). The kernel adopts the graph the build
    // checked, so the name checks are not linked into it.
    Result<void> (*check)(BootRunner& runner) = nullptr;
};

enum class BootProblem : uint8_t {
    None,
    TooManyTasks,        // more than kMaxBootTasks
    MissingField,        // null/empty name or null run function
    BadPhase,            // phase value outside the enum
    DuplicateName,       // task and other share a name
    UnknownRequirement,  // task depends on `requirement`, which no task is called
    PhaseInversion,      // task depends on other, which runs in a later phase
    Cycle,               // task depends on other, which (transitively) depends on task
};

// What validate() (or adopt(): a cycle) found wrong.
struct BootIssue {
    BootProblem problem = BootProblem::None;
    uint16_t task = kNoTask;           // the offending task
    uint16_t other = kNoTask;          // the task it clashes with, if any
    const char* requirement = nullptr;  // the requirement name as written, if any
};

class BootRunner {
public:
    BootRunner(const BootTask* tasks, size_t count, BootRecord* records, const BootProbes& probes);

    // Checks names, requirements, phases and cycles; resolves requirements.
    // Errors: TooLong (too many tasks or requirements), InvalidArgument
    // (missing field, bad phase, duplicate name, phase inversion), NotFound
    // (unknown requirement), Corrupt (cycle). issue() says which task.
    Result<void> validate();
    // validate() as a BootProbes::check hook.
    static Result<void> validate_lazily(BootRunner& runner) { return runner.validate(); }
    const BootIssue& issue() const { return m_issue; }

    // Instead of validate(): requirements resolved ahead of time from a
    // table that was checked the same way (the kernel's is checked at build
    // time by cmake/gen_boot_graph.py): bit d of masks[i] says task i
    // requires task d. Skips the name lookups. InvalidArgument if count is
    // not size(), above 32, or a mask names itself or a task not below
    // count; Busy once a phase has run. Cycles are not looked for (the
    // build did): run_one() answers Corrupt if it meets one.
    Result<void> adopt(const uint32_t* masks, size_t count);

    // After a Cycle: writes the cycle's task indices, issue().task first,
    // into out (at most max) and returns the cycle's length.
    size_t cycle_path(uint16_t* out, size_t max) const;

    // Runs every task of a Critical or Essential phase. Phases go in order:
    // InvalidArgument if an earlier phase has not run, Busy if this one has.
    // run_phase(Optional) runs nothing: it is mark_optional_pending().
    Result<void> run_phase(BootPhase phase);

    // Optional tasks become Pending. Needs the Essential phase done.
    Result<void> mark_optional_pending();

    // Runs every Pending task, in dependency order; returns how many it
    // finished (0: nothing was left).
    size_t run_deferred();

    // Runs one Pending task, after its Pending requirements. Returns the
    // task's final status. NotFound: no such task; Busy: already done (or the
    // runner is busy); InvalidArgument: its phase has not been reached;
    // Corrupt: adopted masks put it on a cycle.
    Result<TaskStatus> run_one(const char* name);

    size_t size() const { return m_count; }
    const BootRecord* records() const { return m_records; }
    const BootTask& task(size_t i) const { return m_tasks[i]; }
    const BootRecord& record(size_t i) const { return m_records[i]; }
    Result<size_t> find(const char* name) const;

    // The task whose body is executing now (for a panic inside a task).
    Result<size_t> running() const;

    bool degraded() const { return m_degraded; }
    bool critical_failed() const { return m_critical_failed; }

    // Sum of the bodies' TSC ticks (deferred runs included for Optional).
    uint64_t phase_ticks(BootPhase phase) const;
    uint64_t total_ticks() const;
    size_t count(TaskStatus status) const;

private:
    // The next phase run_phase() accepts.
    enum class Stage : uint8_t {
        Critical,
        Essential,
        Optional,
        Done,
    };
    enum class Validation : uint8_t {
        NotChecked,
        Valid,
        Invalid,
    };

    Result<void> ensure_valid();
    Result<void> fail(Error error, BootProblem problem, size_t task, size_t other, const char* requirement);
    Result<void> resolve_requirements(size_t i);
    Result<void> check_cycles();
    size_t cycle_successor(size_t i) const;
    size_t run_ready(BootPhase phase, TaskStatus waiting, RunContext context);
    void execute(size_t i, RunContext context);
    void settle(size_t i);
    uint64_t probe(uint64_t (*fn)()) const { return fn != nullptr ? fn() : 0; }
    void emit(size_t i) const;

    const BootTask* m_tasks;
    size_t m_count;
    BootRecord* m_records;
    BootProbes m_probes;
    BootIssue m_issue;
    TaskSet m_done;     // tasks in a final state
    TaskSet m_pending;  // Optional tasks waiting for the shell
    TaskSet m_stuck;    // after a Cycle: the tasks that could not be ordered
    Stage m_stage = Stage::Critical;
    Validation m_validation = Validation::NotChecked;
    Error m_validation_error = Error::InvalidArgument;
    bool m_degraded = false;
    bool m_critical_failed = false;
    bool m_busy = false;  // a body is running: no re-entry from inside a task
};

}  // namespace exo
