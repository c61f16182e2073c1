#include "kernel/boot/boot_runner.h"

#include <new>

namespace exo {

namespace {

bool same_name(const char* a, const char* b)
{
    return a == b || __builtin_strcmp(a, b) == 0;
}

}  // namespace

BootRunner::BootRunner(const BootTask* tasks, size_t count, BootRecord* records, const BootProbes& probes)
    : m_tasks(tasks)
    , m_count(count)
    , m_records(records)
    , m_probes(probes)
{
    // Constructed here: the kernel hands over raw storage.
    for (size_t i = 0; i < m_count; ++i)
        new (&m_records[i]) BootRecord {};
}

Result<void> BootRunner::fail(Error error, BootProblem problem, size_t task, size_t other, const char* requirement)
{
    m_issue.problem = problem;
    m_issue.task = static_cast<uint16_t>(task);
    m_issue.other = static_cast<uint16_t>(other);
    m_issue.requirement = requirement;
    m_validation = Validation::Invalid;
    m_validation_error = error;
    return error;
}

Result<void> BootRunner::validate()
{
    m_issue = BootIssue {};
    m_stuck = TaskSet {};
    if (m_count > kMaxBootTasks)
        return fail(Error::TooLong, BootProblem::TooManyTasks, kNoTask, kNoTask, nullptr);

    for (size_t i = 0; i < m_count; ++i) {
        const BootTask& t = m_tasks[i];
        if (t.name == nullptr || t.name[0] == '\0' || t.run == nullptr)
            return fail(Error::InvalidArgument, BootProblem::MissingField, i, kNoTask, nullptr);
        if (static_cast<uint8_t>(t.phase) >= kBootPhaseCount)
            return fail(Error::InvalidArgument, BootProblem::BadPhase, i, kNoTask, nullptr);
        for (size_t j = 0; j < i; ++j) {
            if (same_name(m_tasks[j].name, t.name))
                return fail(Error::InvalidArgument, BootProblem::DuplicateName, i, j, nullptr);
        }
    }
    for (size_t i = 0; i < m_count; ++i)
        TRY_VOID(resolve_requirements(i));
    TRY_VOID(check_cycles());

    m_validation = Validation::Valid;
    return {};
}

Result<void> BootRunner::adopt(const uint32_t* masks, size_t count)
{
    if (m_stage != Stage::Critical || m_busy)
        return Error::Busy;
    if (count != m_count || count > 32)
        return Error::InvalidArgument;
    for (size_t i = 0; i < count; ++i) {
        if ((uint64_t { masks[i] } >> count) != 0 || (masks[i] >> i & 1) != 0)
            return Error::InvalidArgument;
    }
    for (size_t i = 0; i < count; ++i)
        m_records[i].needs = TaskSet::from_mask(masks[i]);
    m_issue = BootIssue {};
    m_validation = Validation::Valid;
    return {};
}

Result<void> BootRunner::resolve_requirements(size_t i)
{
    const BootTask& t = m_tasks[i];
    TaskSet needs;
    if (t.depends_on != nullptr) {
        size_t n = 0;
        for (const char* const* req = t.depends_on; *req != nullptr; ++req) {
            // A list longer than the task table is missing its terminator.
            if (++n > kMaxBootTasks)
                return fail(Error::TooLong, BootProblem::TooManyTasks, i, kNoTask, nullptr);
            Result<size_t> found = find(*req);
            if (!found)
                return fail(Error::NotFound, BootProblem::UnknownRequirement, i, kNoTask, *req);
            size_t d = found.value();
            if (d == i)
                return fail(Error::Corrupt, BootProblem::Cycle, i, i, *req);
            if (m_tasks[d].phase > t.phase)
                return fail(Error::InvalidArgument, BootProblem::PhaseInversion, i, d, *req);
            needs.add(d);
        }
    }
    m_records[i].needs = needs;
    return {};
}

// Kahn's algorithm over bit sets: peel off tasks whose requirements are all
// ordered; whatever is left sits on or behind a cycle.
Result<void> BootRunner::check_cycles()
{
    TaskSet ordered;
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t i = 0; i < m_count; ++i) {
            if (!ordered.contains(i) && ordered.contains_all(m_records[i].needs)) {
                ordered.add(i);
                progress = true;
            }
        }
    }
    for (size_t i = 0; i < m_count; ++i) {
        if (!ordered.contains(i))
            m_stuck.add(i);
    }
    if (m_stuck.empty())
        return {};

    // Every stuck task needs another stuck task, so following those edges
    // m_count times from anywhere lands on a cycle.
    size_t at = m_stuck.first();
    for (size_t step = 0; step < m_count; ++step)
        at = cycle_successor(at);
    size_t next = cycle_successor(at);
    return fail(Error::Corrupt, BootProblem::Cycle, at, next, m_tasks[next].name);
}

size_t BootRunner::cycle_successor(size_t i) const
{
    return m_records[i].needs.first_shared(m_stuck);
}

size_t BootRunner::cycle_path(uint16_t* out, size_t max) const
{
    if (m_issue.problem != BootProblem::Cycle || m_issue.task == kNoTask)
        return 0;
    size_t length = 0;
    size_t at = m_issue.task;
    do {
        if (length < max)
            out[length] = static_cast<uint16_t>(at);
        ++length;
        // A self-requirement is caught before m_stuck is built.
        at = m_issue.task == m_issue.other ? m_issue.task : cycle_successor(at);
    } while (at != m_issue.task && length <= m_count);
    return length;
}

Result<void> BootRunner::ensure_valid()
{
    if (m_validation == Validation::NotChecked)
        return m_probes.check ? m_probes.check(*this) : Result<void>(Error::InvalidArgument);
    if (m_validation == Validation::Invalid)
        return m_validation_error;
    return {};
}

Result<void> BootRunner::run_phase(BootPhase phase)
{
    TRY_VOID(ensure_valid());
    if (phase == BootPhase::Optional)
        return mark_optional_pending();
    if (m_busy)
        return Error::Busy;  // called from inside a task body

    Stage want = phase == BootPhase::Critical ? Stage::Critical : Stage::Essential;
    if (m_stage > want)
        return Error::Busy;
    if (m_stage < want)
        return Error::InvalidArgument;

    run_ready(phase, TaskStatus::NotRun, RunContext::InPhase);
    m_stage = phase == BootPhase::Critical ? Stage::Essential : Stage::Optional;
    return {};
}

Result<void> BootRunner::mark_optional_pending()
{
    TRY_VOID(ensure_valid());
    if (m_busy || m_stage == Stage::Done)
        return Error::Busy;
    if (m_stage != Stage::Optional)
        return Error::InvalidArgument;
    for (size_t i = 0; i < m_count; ++i) {
        if (m_tasks[i].phase == BootPhase::Optional && m_records[i].status == TaskStatus::NotRun) {
            m_records[i].status = TaskStatus::Pending;
            m_pending.add(i);
        }
    }
    m_stage = Stage::Done;
    return {};
}

size_t BootRunner::run_deferred()
{
    if (m_validation != Validation::Valid || m_busy)
        return 0;
    return run_ready(BootPhase::Optional, TaskStatus::Pending, RunContext::Deferred);
}

Result<TaskStatus> BootRunner::run_one(const char* name)
{
    TRY_VOID(ensure_valid());
    size_t target = TRY(find(name));
    if (m_busy)
        return Error::Busy;
    TaskStatus status = m_records[target].status;
    if (status == TaskStatus::NotRun)
        return Error::InvalidArgument;
    if (status != TaskStatus::Pending)
        return Error::Busy;

    // Walk down to a Pending requirement with no Pending requirements of its
    // own, run it, repeat. validate() rules out cycles; adopted masks are
    // only as good as the build's check, so a walk longer than the table
    // (a cycle) ends in Corrupt rather than looping with interrupts off.
    while (m_pending.contains(target)) {
        size_t at = target;
        for (size_t steps = 0;; ++steps) {
            size_t below = m_records[at].needs.first_shared(m_pending);
            if (below == kMaxBootTasks)
                break;
            if (steps == m_count)
                return Error::Corrupt;
            at = below;
        }
        execute(at, RunContext::Deferred);
    }
    return m_records[target].status;
}

// Runs the tasks of `phase` waiting in `waiting` (NotRun at boot, Pending
// from the shell): each round picks the lowest-index one whose requirements
// are all finished. A task leaves `waiting` when it runs. Looked up in place
// rather than gathered into a TaskSet local, which would cost the caller a
// 16-byte stack realignment. Returns how many it finished.
size_t BootRunner::run_ready(BootPhase phase, TaskStatus waiting, RunContext context)
{
    size_t finished = 0;
    for (;;) {
        size_t pick = kMaxBootTasks;
        for (size_t i = 0; i < m_count; ++i) {
            const BootRecord& rec = m_records[i];
            if (m_tasks[i].phase == phase && rec.status == waiting && m_done.contains_all(rec.needs)) {
                pick = i;
                break;
            }
        }
        if (pick == kMaxBootTasks)
            return finished;
        execute(pick, context);
        ++finished;
    }
}

void BootRunner::execute(size_t i, RunContext context)
{
    const BootTask& task = m_tasks[i];
    BootRecord& rec = m_records[i];
    rec.context = context;
    m_pending.remove(i);

    // Prefer blaming a requirement that failed over one that is merely absent.
    size_t blocker = kNoTask;
    for (size_t d = rec.needs.first(); d < kMaxBootTasks; d = rec.needs.next(d + 1)) {
        const BootRecord& dep = m_records[d];
        if (dep.status == TaskStatus::Ok)
            continue;
        if (blocker == kNoTask || (!m_records[blocker].is_failure() && dep.is_failure()))
            blocker = d;
    }

    if (blocker != kNoTask) {
        const BootRecord& dep = m_records[blocker];
        rec.tsc_start = rec.tsc_end = probe(m_probes.read_tsc);
        rec.status = TaskStatus::Skipped;
        // A requirement that never finished (cannot happen after validate()
        // and in-order phases) counts as a failure, not as absent hardware.
        rec.error = dep.finished() ? dep.error : Error::NotFound;
        rec.blocked_by = static_cast<uint16_t>(blocker);
    } else {
        rec.status = TaskStatus::Running;
        emit(i);
        m_busy = true;
        uint64_t frames_before = probe(m_probes.frames_used);
        uint64_t heap_before = probe(m_probes.heap_used);
        rec.tsc_start = probe(m_probes.read_tsc);
        Result<void> result = task.run();
        rec.tsc_end = probe(m_probes.read_tsc);
        rec.frames_delta = static_cast<int64_t>(probe(m_probes.frames_used) - frames_before);
        rec.heap_delta = static_cast<int64_t>(probe(m_probes.heap_used) - heap_before);
        m_busy = false;
        if (result.ok()) {
            rec.status = TaskStatus::Ok;
        } else {
            rec.error = result.error();
            rec.status = result.error() == Error::Absent ? TaskStatus::Absent : TaskStatus::Failed;
        }
    }
    m_done.add(i);
    emit(i);
    settle(i);
}

void BootRunner::settle(size_t i)
{
    const BootRecord& rec = m_records[i];
    if (!rec.is_failure())
        return;
    switch (m_tasks[i].phase) {
    case BootPhase::Critical:
        m_critical_failed = true;
        if (m_probes.on_critical_failure != nullptr)
            m_probes.on_critical_failure(m_tasks[i], rec.error);
        break;
    case BootPhase::Essential:
        m_degraded = true;
        break;
    case BootPhase::Optional:
        break;  // shown by `drivers`; the system is as good as before
    }
}

void BootRunner::emit(size_t i) const
{
    if (m_probes.on_event != nullptr)
        m_probes.on_event(m_tasks[i], m_records[i]);
}

Result<size_t> BootRunner::find(const char* name) const
{
    if (name == nullptr)
        return Error::NotFound;
    size_t limit = m_count < kMaxBootTasks ? m_count : kMaxBootTasks;
    for (size_t i = 0; i < limit; ++i) {
        if (m_tasks[i].name != nullptr && same_name(m_tasks[i].name, name))
            return i;
    }
    return Error::NotFound;
}

Result<size_t> BootRunner::running() const
{
    for (size_t i = 0; i < m_count; ++i) {
        if (m_records[i].status == TaskStatus::Running)
            return i;
    }
    return Error::NotFound;
}

uint64_t BootRunner::phase_ticks(BootPhase phase) const
{
    uint64_t total = 0;
    for (size_t i = 0; i < m_count; ++i) {
        if (m_tasks[i].phase == phase && m_records[i].ran())
            total += m_records[i].ticks();
    }
    return total;
}

uint64_t BootRunner::total_ticks() const
{
    return phase_ticks(BootPhase::Critical) + phase_ticks(BootPhase::Essential) + phase_ticks(BootPhase::Optional);
}

size_t BootRunner::count(TaskStatus status) const
{
    size_t n = 0;
    for (size_t i = 0; i < m_count; ++i) {
        if (m_records[i].status == status)
            ++n;
    }
    return n;
}

}  // namespace exo
