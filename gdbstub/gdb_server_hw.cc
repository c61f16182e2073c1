#include "gdbstub/gdb_server_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/drivers/uart16550/console_hw.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/drivers/pic8259/pic_hw.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/uart16550/uart16550.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/mm/safe_memory_hw.h"
#include "shell/shell_main_hw.h"
#include "kernel/sched/threads_hw.h"

namespace exo::gdb_server {
namespace {

constexpr uint16_t kCom2 = 0x2F8;
constexpr uint8_t kIrqCom2 = 3;
constexpr uint64_t kDr6SingleStep = 1ull << 14;
constexpr uint64_t kDr6Slots = 0xF;
// context_switch.S pushes rbp rbx r12 r13 r14 r15 (r15 lowest), then the
// return address sits above them: a blocked thread's registers are there.
// One-byte instructions the stub executes itself when asked to step them:
// after `sti` the CPU delivers no single-step trap (interrupt shadow), and a
// stepped `hlt` would sleep until the next interrupt.
constexpr uint8_t kOpcodeSti = 0xFB;
constexpr uint8_t kOpcodeHlt = 0xF4;
constexpr size_t kSavedR15 = 0, kSavedR14 = 1, kSavedR13 = 2, kSavedR12 = 3, kSavedRbx = 4, kSavedRbp = 5,
                 kSavedRip = 6, kSavedWords = 7;

// All of this is touched only with interrupts off: in the COM2 IRQ, the #DB
// and #BP handlers, or the panic path, on the one CPU.
constinit Uart16550<X86PortIo> g_com2 { X86PortIo {}, kCom2 };
constinit TrapFrame* g_frame = nullptr;  // the stopped context
constinit DebugRegisters g_debug {};
constinit bool g_ready = false;
constinit bool g_holding = false;       // stepping: keep this thread on the CPU
constinit bool g_restore_if = false;    // IF was set before a step cleared it
constinit uint64_t g_stops = 0;
constinit bool g_boot_wait = false;     // the int3 in wait_for_attach() is ours, not gdb's

uint64_t read_dr6()
{
    uint64_t v;
    asm volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}

void write_dr(int n, uint64_t v)
{
    switch (n) {
    case 0: asm volatile("mov %0, %%dr0" : : "r"(v)); break;
    case 1: asm volatile("mov %0, %%dr1" : : "r"(v)); break;
    case 2: asm volatile("mov %0, %%dr2" : : "r"(v)); break;
    case 3: asm volatile("mov %0, %%dr3" : : "r"(v)); break;
    case 6: asm volatile("mov %0, %%dr6" : : "r"(v)); break;
    case 7: asm volatile("mov %0, %%dr7" : : "r"(v)); break;
    }
}

Thread* thread_by_gdb_id(ThreadId id)
{
    if (!threads::started())
        return nullptr;
    for (Thread* t = threads::scheduler().first_thread(); t; t = Scheduler::next_thread(*t)) {
        if (t->id + 1 == id && t->state != ThreadState::Dead)
            return t;
    }
    return nullptr;
}

ThreadId current_gdb_id() { return threads::started() ? threads::current().id + 1 : 1; }

uint64_t segment(GdbRegister r)
{
    uint16_t v = 0;
    switch (r) {
    case GdbRegister::Ds: asm volatile("mov %%ds, %0" : "=r"(v)); break;
    case GdbRegister::Es: asm volatile("mov %%es, %0" : "=r"(v)); break;
    case GdbRegister::Fs: asm volatile("mov %%fs, %0" : "=r"(v)); break;
    case GdbRegister::Gs: asm volatile("mov %%gs, %0" : "=r"(v)); break;
    default: break;
    }
    return v;
}

// Where each of GdbRegister Rax..Ss sits in a TrapFrame: a byte table, not
// a compare chain (no switch tables in this kernel).
constexpr uint8_t kFrameOffset[] = {
    offsetof(TrapFrame, rax), offsetof(TrapFrame, rbx), offsetof(TrapFrame, rcx), offsetof(TrapFrame, rdx),
    offsetof(TrapFrame, rsi), offsetof(TrapFrame, rdi), offsetof(TrapFrame, rbp), offsetof(TrapFrame, rsp),
    offsetof(TrapFrame, r8), offsetof(TrapFrame, r9), offsetof(TrapFrame, r10), offsetof(TrapFrame, r11),
    offsetof(TrapFrame, r12), offsetof(TrapFrame, r13), offsetof(TrapFrame, r14), offsetof(TrapFrame, r15),
    offsetof(TrapFrame, rip), offsetof(TrapFrame, rflags), offsetof(TrapFrame, cs), offsetof(TrapFrame, ss),
};
static_assert(sizeof kFrameOffset == static_cast<size_t>(GdbRegister::Ss) + 1);

uint64_t* frame_slot(TrapFrame& f, GdbRegister r)
{
    size_t i = static_cast<size_t>(r);
    if (i >= sizeof kFrameOffset)
        return nullptr;
    return reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(&f) + kFrameOffset[i]);
}

Result<uint64_t> system_register(GdbRegister r)
{
    switch (r) {
    case GdbRegister::Ds:
    case GdbRegister::Es:
    case GdbRegister::Fs:
    case GdbRegister::Gs: return segment(r);
    case GdbRegister::FsBase: return cpu::rdmsr(cpu::msr::kFsBase);
    case GdbRegister::GsBase: return cpu::rdmsr(cpu::msr::kGsBase);
    case GdbRegister::Cr0: return cpu::read_cr0();
    case GdbRegister::Cr2: return cpu::read_cr2();
    case GdbRegister::Cr3: return cpu::read_cr3();
    case GdbRegister::Cr4: return cpu::read_cr4();
    case GdbRegister::Efer: return cpu::rdmsr(cpu::msr::kEfer);
    default: return Error::NotFound;
    }
}

// The saved word holding each of GdbRegister Rax..Rip (kNotSaved: none).
constexpr uint8_t kNotSaved = 0xFF;
constexpr uint8_t kSavedWord[] = {
    kNotSaved, kSavedRbx, kNotSaved, kNotSaved, kNotSaved, kNotSaved, kSavedRbp, kNotSaved,  // rax..rsp
    kNotSaved, kNotSaved, kNotSaved, kNotSaved, kSavedR12, kSavedR13, kSavedR14, kSavedR15,  // r8..r15
    kSavedRip,
};
static_assert(sizeof kSavedWord == static_cast<size_t>(GdbRegister::Rip) + 1);

// A thread that is not on the CPU: only what context_switch saved.
Result<uint64_t> saved_register(const Thread& t, GdbRegister r)
{
    auto* arch = static_cast<const threads::ThreadArch*>(t.arch);
    if (!arch || !arch->saved_rsp)
        return Error::NotFound;
    uint64_t words[kSavedWords];
    Result<size_t> got = safe_memory::read(arch->saved_rsp, words, sizeof words);
    if (!got.ok() || got.value() != sizeof words)
        return Error::NotMapped;
    switch (r) {
    case GdbRegister::Rsp: return arch->saved_rsp + kSavedWords * 8;
    case GdbRegister::Cs: return gdt::kKernelCode;
    case GdbRegister::Ss: return gdt::kKernelData;
    default: break;
    }
    size_t i = static_cast<size_t>(r);
    if (i < sizeof kSavedWord && kSavedWord[i] != kNotSaved)
        return words[kSavedWord[i]];
    return system_register(r);
}

class KernelTarget final : public GdbTarget {
public:
    Result<uint64_t> read_register(ThreadId thread, GdbRegister reg)
    {
        if (thread == 0 || thread == current_gdb_id()) {
            if (!g_frame)
                return Error::NotFound;
            if (uint64_t* slot = frame_slot(*g_frame, reg))
                return *slot;
            return system_register(reg);
        }
        Thread* t = thread_by_gdb_id(thread);
        if (!t)
            return Error::NotFound;
        return saved_register(*t, reg);
    }

    Result<void> write_register(ThreadId thread, GdbRegister reg, uint64_t value)
    {
        if ((thread != 0 && thread != current_gdb_id()) || !g_frame)
            return Error::Unsupported;  // blocked threads: read-only view
        uint64_t* slot = frame_slot(*g_frame, reg);
        if (!slot)
            return Error::Unsupported;
        *slot = value;
        return {};
    }

    Result<size_t> read_memory(uint64_t address, uint8_t* out, size_t length)
    {
        return safe_memory::read(address, out, length);
    }

    Result<size_t> write_memory(uint64_t address, const uint8_t* data, size_t length)
    {
        return safe_memory::write(address, data, length);
    }

    void set_debug_registers(const DebugRegisters& regs) { g_debug = regs; }

    Result<ThreadId> thread_at(size_t index)
    {
        if (!threads::started())
            return index == 0 ? Result<ThreadId>(1) : Result<ThreadId>(Error::NotFound);
        size_t i = 0;
        for (Thread* t = threads::scheduler().first_thread(); t; t = Scheduler::next_thread(*t)) {
            if (t->state == ThreadState::Dead)
                continue;
            if (i++ == index)
                return ThreadId { t->id + 1 };
        }
        return Error::NotFound;
    }

    bool thread_alive(ThreadId thread)
    {
        return threads::started() ? thread_by_gdb_id(thread) != nullptr : thread == 1;
    }

    size_t thread_description(ThreadId thread, char* out, size_t capacity)
    {
        Thread* t = thread_by_gdb_id(thread);
        if (!t)
            return format_to(out, capacity, "boot");
        size_t n = format_to(out, capacity, "%s (%s, ring %u)", t->name, thread_state_name(t->state),
            static_cast<uint32_t>(t->ring));
        return n < capacity ? n : capacity - 1;
    }

    void run_monitor(const char* command, size_t length, RspWriteFn out, void* ctx)
    {
        Output o { out, ctx };  // RspWriteFn has Output::WriteFn's shape
        const CommandTable* table = shell_command_table();
        if (!table) {
            o.puts("error: the shell is not running yet\n");
            return;
        }
        // Commands that wait for input or end the machine make no sense inside the stub.
        if (length >= 5 && __builtin_memcmp(command, "watch", 5) == 0) {
            o.puts("error: watch needs the shell's input; not available from gdb\n");
            return;
        }
        (void)table->execute(o, command, length);
    }
};

}  // namespace
}  // namespace exo::gdb_server

namespace exo {
EXO_BIND_GDB_TARGET(gdb_server::KernelTarget)
}  // namespace exo

namespace exo::gdb_server {
namespace {

constinit KernelTarget g_target {};
constinit GdbStub g_stub {};

void com2_write(void*, const char* data, size_t length) { g_com2.write_bytes(data, length); }

uint8_t com2_read_polling()
{
    for (;;) {
        Result<uint8_t> b = g_com2.try_get();
        if (b.ok())
            return b.value();
        cpu::pause();
    }
}

void load_debug_registers()
{
    for (size_t i = 0; i < kDebugSlots; ++i)
        write_dr(static_cast<int>(i), g_debug.address[i]);
    write_dr(6, 0);
    write_dr(7, g_debug.dr7);
}

// The stop/resume loop: talk to gdb until it resumes us, then set up the
// frame for what it asked (TF for a step, debug registers for a continue).
void stop_loop(TrapFrame& frame, const GdbStopEvent& event)
{
    cpu::cli();  // every entry path should have IF clear already; be sure
    ++g_stops;
    TrapFrame* outer = g_frame;
    g_frame = &frame;
    write_dr(7, 0);  // no watchpoint may fire on the stub's own accesses
    if (g_restore_if) {
        frame.rflags |= cpu::kFlagsIf;
        g_restore_if = false;
    }
    GdbAction action = g_stub.notify_stop(event);
    for (;;) {
        while (action == GdbAction::None || action == GdbAction::Stop)
            action = g_stub.feed(com2_read_polling());
        uint8_t opcode = 0;
        if (action != GdbAction::Step || !safe_memory::read(frame.rip, &opcode, 1).ok()
            || (opcode != kOpcodeSti && opcode != kOpcodeHlt))
            break;
        // Step it here: `sti` sets IF in the stopped context (masked again
        // for each real step, as always), `hlt` becomes a no-op.
        if (opcode == kOpcodeSti)
            frame.rflags |= cpu::kFlagsIf;
        frame.rip += 1;
        action = g_stub.notify_stop(GdbStopEvent { GdbStopCause::Exception, idt::vector::kDebug, kDr6SingleStep,
            current_gdb_id() });
    }
    frame.rflags &= ~cpu::kFlagsTf;
    g_holding = false;
    if (action == GdbAction::Step) {
        // Interrupts stay masked while stepping, or `stepi` would land in the
        // timer handler instead of the next instruction.
        g_restore_if = frame.rflags & cpu::kFlagsIf;
        frame.rflags = (frame.rflags | cpu::kFlagsTf) & ~cpu::kFlagsIf;
        g_holding = true;
    }
    load_debug_registers();
    g_frame = outer;
}

bool on_breakpoint(TrapFrame& frame)
{
    if (!g_ready)
        return false;
    if (g_boot_wait) {
        g_boot_wait = false;
        stop_loop(frame, GdbStopEvent { GdbStopCause::Requested, 0, 0, current_gdb_id() });
        return true;
    }
    // The stub moves rip back onto the int3 itself, for its own breakpoints only.
    stop_loop(frame, GdbStopEvent { GdbStopCause::Exception, idt::vector::kBreakpoint, 0, current_gdb_id() });
    return true;
}

bool on_debug(TrapFrame& frame)
{
    if (!g_ready)
        return false;
    uint64_t dr6 = read_dr6();
    write_dr(6, 0);
    if (!(dr6 & (kDr6SingleStep | kDr6Slots)) && !g_stub.attached())
        return false;
    stop_loop(frame, GdbStopEvent { GdbStopCause::Exception, idt::vector::kDebug, dr6, current_gdb_id() });
    return true;
}

void on_com2(TrapFrame& frame)
{
    for (;;) {
        Result<uint8_t> b = g_com2.try_get();
        if (!b.ok())
            return;
        if (g_stub.feed(b.value()) == GdbAction::Stop) {
            stop_loop(frame, GdbStopEvent { GdbStopCause::Requested, 0, 0, current_gdb_id() });
            return;
        }
    }
}

Result<void> start_stub()
{
    TRY_VOID(g_com2.init(console::kBaud));
    g_stub.bind(g_target, com2_write, nullptr);
    idt::set_exception_hook(idt::vector::kBreakpoint, on_breakpoint);
    idt::set_exception_hook(idt::vector::kDebug, on_debug);
    idt::set_irq_handler(kIrqCom2, on_com2);
    g_com2.enable_rx_interrupt();
    pic::unmask(kIrqCom2);
    g_ready = true;
    driver_detail("gdbstub", "RSP on COM2 0x2f8, IRQ 3, %u baud; attach any time", console::kBaud);
    return {};
}

}  // namespace

EXO_DRIVER_TASK(kGdbStubTask, "gdbstub", BootPhase::Critical, start_stub, "idt", "safe-memory");

void wait_for_attach()
{
    if (!g_ready) {
        log_error("gdb=wait: no stub (COM2 absent); booting on");
        return;
    }
    log_info("gdb: waiting for gdb on COM2 (gdb=wait)");
    g_boot_wait = true;
    asm volatile("int3");  // stops in on_breakpoint; resumes here when gdb continues
}

void enter_from_panic(TrapFrame& frame)
{
    if (!g_ready)
        return;
    if (!g_stub.attached() && boot_sequence::options().gdb != GdbMode::Panic)
        return;
    log_error("panic: handing the CPU to gdb on COM2");
    for (;;)
        stop_loop(frame, GdbStopEvent { GdbStopCause::Panic, static_cast<uint8_t>(frame.vector), 0, current_gdb_id() });
}

bool holding_cpu() { return g_holding; }
const GdbStub& stub() { return g_stub; }
uint64_t stops() { return g_stops; }

}  // namespace exo::gdb_server
