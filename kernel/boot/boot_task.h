// A boot task is a named step of kernel start-up, declared as a constinit
// descriptor next to the code it initialises. The runner (boot_runner.h)
// orders tasks by their named dependencies, never by position in a list.
//
//   constexpr const char* kHeapNeeds[] = {"frames", nullptr};
//   constinit const BootTask kHeapTask {"heap", BootPhase::Critical, kHeapNeeds, &heap_init};
//
// `depends_on` plays the role of a "requires" list; `requires` itself is a
// C++20 keyword and cannot name a member.
#pragma once

#include <stdint.h>

#include "kernel/lib/names.h"
#include "kernel/lib/result.h"

namespace exo {

// What a phase may assume, and what its failure costs:
//   Critical  - runs first; a failure panics, naming the task (no shell without it).
//   Essential - runs before the prompt; a failure marks the system degraded.
//   Optional  - waits for `init deferred` / `init NAME` (or deferred=auto).
// A task may depend on tasks of its own or an earlier phase only.
enum class BootPhase : uint8_t {
    Critical,
    Essential,
    Optional,
};

constexpr uint8_t kBootPhaseCount = 3;

// The task body. Error::Absent means "the hardware is not there": the task
// is recorded as absent, which is not a failure.
using BootTaskFn = Result<void> (*)();

struct BootTask {
    const char* name;
    BootPhase phase;
    const char* const* depends_on;  // nullptr-terminated task names; nullptr = none
    BootTaskFn run;
};

enum class TaskStatus : uint8_t {
    NotRun,   // its phase has not run yet
    Pending,  // Optional, waiting for the shell (or deferred=auto)
    Running,  // its body is executing now (seen from a panic inside it)
    Ok,
    Failed,   // the body returned an error other than Absent
    Absent,   // the body returned Error::Absent
    Skipped,  // a requirement did not succeed, so the body never ran
};

constexpr uint8_t kTaskStatusCount = 7;

inline const char* boot_phase_name(BootPhase phase)
{
    return name_at("critical\0essential\0optional\0", static_cast<size_t>(phase));
}

// Out of line: five callers (a call is shorter than the table address).
[[gnu::noinline]] inline const char* task_status_name(TaskStatus status)
{
    return name_at("not-run\0pending\0running\0ok\0failed\0absent\0skipped\0", static_cast<size_t>(status));
}

}  // namespace exo
