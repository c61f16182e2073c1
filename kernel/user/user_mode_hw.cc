#include "kernel/user/user_mode_hw.h"

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/lib/names.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/sched/threads_hw.h"

extern "C" const uint8_t user_image_start[], user_image_end[];
extern "C" [[noreturn]] void user_enter(uint64_t rip, uint64_t rsp, uint64_t arg);

namespace exo::user_mode {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kCodeVirt = 0x400000;
constexpr uint64_t kStackVirt = 0x7FFFF000;        // one page; grows down from kStackVirt + kPage
constexpr uint64_t kUserTop = 0x0000800000000000;  // end of the lower canonical half

void release(UserSpace* space)
{
    if (!space)
        return;
    (void)space->tables.unmap(kCodeVirt);
    (void)space->tables.unmap(kStackVirt);
    if (space->code_phys)
        memory::free_frame(space->code_phys);
    if (space->stack_phys)
        memory::free_frame(space->stack_phys);
    memory::destroy_address_space(space->tables);
    delete space;
}

Result<UserSpace*> build(Program program)
{
    size_t image = static_cast<size_t>(user_image_end - user_image_start);
    if (image > kPage)
        return Error::TooLong;
    auto* space = new UserSpace {};
    if (!space)
        return Error::NoMemory;
    Result<PageTable> tables = memory::create_address_space();
    if (!tables.ok()) {
        delete space;
        return tables.error();
    }
    space->tables = tables.value();
    space->mode = static_cast<uint64_t>(program);
    Result<uint64_t> code = memory::alloc_frame();
    Result<uint64_t> stack = code.ok() ? memory::alloc_frame() : Result<uint64_t>(Error::NoMemory);
    space->code_phys = code.value_or(0);
    space->stack_phys = stack.value_or(0);
    Result<void> mapped = stack.ok() ? Result<void>() : Result<void>(Error::NoMemory);
    if (mapped.ok()) {
        void* code_page = memory::phys_to_virt(space->code_phys);
        __builtin_memset(code_page, 0xCC, kPage);  // int3 past the program
        __builtin_memcpy(code_page, user_image_start, image);
        __builtin_memset(memory::phys_to_virt(space->stack_phys), 0, kPage);
        mapped = space->tables.map(kCodeVirt, space->code_phys, PageSize::Size4K,
            PageFlags::User | PageFlags::Executable);
    }
    if (mapped.ok())
        mapped = space->tables.map(kStackVirt, space->stack_phys, PageSize::Size4K,
            PageFlags::User | PageFlags::Writable);
    if (!mapped.ok()) {
        release(space);
        return mapped.error();
    }
    return space;
}

// Kernel-side start of a user thread: switch to its tables, drop to ring 3.
void enter_user(void* arg)
{
    auto* space = static_cast<UserSpace*>(arg);
    auto* arch = static_cast<threads::ThreadArch*>(threads::current().arch);
    cpu::cli();
    arch->cr3 = space->tables.root();
    arch->user = space;
    cpu::write_cr3(arch->cr3);
    user_enter(kCodeVirt, kStackVirt + kPage - 16, space->mode);
}

// The page of `addr` in the current user space, if mapped user (and writable when asked).
Result<uint8_t*> user_page(uint64_t addr, bool write)
{
    auto* arch = static_cast<threads::ThreadArch*>(threads::current().arch);
    if (!arch || !arch->user)
        return Error::InvalidArgument;
    Result<Translation> t = arch->user->tables.translate(addr);
    if (!t.ok() || !has(t.value().flags, PageFlags::User) || (write && !has(t.value().flags, PageFlags::Writable)))
        return Error::InvalidArgument;
    return static_cast<uint8_t*>(memory::phys_to_virt(t.value().phys));
}

Result<void> copy_user(uint64_t user, uint8_t* kernel, size_t n, bool to_user)
{
    if (user >= kUserTop || n > kUserTop - user)
        return Error::InvalidArgument;
    while (n) {
        size_t chunk = kPage - (user & (kPage - 1));
        if (chunk > n)
            chunk = n;
        uint8_t* p = TRY(user_page(user, to_user));
        if (to_user)
            __builtin_memcpy(p, kernel, chunk);
        else
            __builtin_memcpy(kernel, p, chunk);
        user += chunk;
        kernel += chunk;
        n -= chunk;
    }
    return {};
}

}  // namespace

const char* program_name(Program p)
{
    if (p > Program::Fuzz)
        return "user";
    return name_at("user:sampler\0user:badptr\0user:fault\0user:bench\0user:trap\0user:step\0user:fuzz\0", static_cast<size_t>(p));
}

Result<Thread*> spawn(Program program)
{
    UserSpace* space = TRY(build(program));
    Result<Thread*> t = threads::spawn(program_name(program), enter_user, space, kDefaultPriority);
    if (!t.ok()) {
        release(space);
        return t.error();
    }
    t.value()->ring = Ring::User;
    return t;
}

Result<void> copy_from(void* dst, uint64_t user_src, size_t n)
{
    return copy_user(user_src, static_cast<uint8_t*>(dst), n, false);
}

Result<void> copy_to(uint64_t user_dst, const void* src, size_t n)
{
    return copy_user(user_dst, static_cast<uint8_t*>(const_cast<void*>(src)), n, true);
}

namespace {
// The calling ring-3 thread's (only syscalls ask: arch->user is set).
UserSpace& current_space() { return *static_cast<threads::ThreadArch*>(threads::current().arch)->user; }

// What the program read and reported, one line each as it ends: its
// samples from the first to the last, its null-syscall timings.
void log_results(const char* name, const UserSpace& s)
{
    if (s.samples) {
        const syscalls::Counters &a = s.first_sample, &b = s.last_sample;
        log_info("%s: %u samples over %u ms: heap %u -> %u B, frames %u -> %u", name, s.samples,
            (b.uptime_us - a.uptime_us) / 1000, a.heap_used_bytes, b.heap_used_bytes, a.frames_used, b.frames_used);
    }
    if (s.bench.calls) {
        uint64_t hz = timer::tsc_hz();
        log_info("%s: %u null syscalls: min %u ns, mean %u ns", name, s.bench.calls, ticks_to_ns(s.bench.min_ticks, hz),
            ticks_to_ns(s.bench.total_ticks / s.bench.calls, hz));
    }
}
}  // namespace

void note_sample(const syscalls::Counters& c)
{
    UserSpace& space = current_space();
    if (!space.samples++)
        space.first_sample = c;
    space.last_sample = c;
}

void note_bench(const syscalls::BenchResult& r) { current_space().bench = r; }

void exit_current(int64_t code)
{
    cpu::cli();
    Thread& self = threads::current();
    auto* arch = static_cast<threads::ThreadArch*>(self.arch);
    if (arch->user)
        log_results(self.name, *arch->user);
    // A clean exit is routine (debug); anything else is worth a line on the console.
    klog(code ? LogLevel::Info : LogLevel::Debug, "user: thread %u (%s) exited with %d", self.id, c_str(self.name),
        code);
    cpu::write_cr3(memory::kernel_page_table().root());
    UserSpace* space = arch->user;
    arch->user = nullptr;
    arch->cr3 = 0;
    release(space);
    threads::exit_current();
}

void kill_for_fault(const TrapFrame& f)
{
    Thread& self = threads::current();
    log_warn("user: thread %u (%s) killed: %s at rip %p, error 0x%x, cr2 %p", self.id, c_str(self.name),
        idt::exception_name(f.vector), f.rip, f.error_code, cpu::read_cr2());
    exit_current(-static_cast<int64_t>(f.vector) - 1000);
}

}  // namespace exo::user_mode
