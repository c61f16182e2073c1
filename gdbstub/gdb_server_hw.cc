#include "gdbstub/gdb_server_hw.h"

#include "gdbstub/single_step.h"
#include "kernel/drivers/ioapic/ioapic_hw.h"
#include "kernel/drivers/uart16550/serial_input_hw.h"
#include "kernel/lib/nobreak.h"

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
#include "kernel/mm/memory_hw.h"
#include "kernel/mm/safe_memory_hw.h"
#include "shell/shell_main_hw.h"
#include "kernel/sched/threads_hw.h"

namespace exo::gdb_server {
namespace {

constexpr uint16_t kCom2 = 0x2F8;
constexpr uint8_t kIrqCom2 = 3;
constexpr uint8_t kIrqCom1 = 4;
constexpr uint64_t kDr6SingleStep = 1ull << 14;
constexpr uint64_t kDr6Slots = 0xF;
constexpr uint32_t kMsrKernelGsBase = 0xC0000102;  // what swapgs exchanges with GS base
// Typed three times on COM1 while stopped, it resumes the kernel without
// gdb: the way out when gdb died without detaching.
constexpr uint8_t kEscape = 0x1D;  // Ctrl-]
constexpr int kEscapeCount = 3;
constexpr size_t kLongestInstruction = 15;
// context_switch.S pushes rbp rbx r12 r13 r14 r15 (r15 lowest), then the
// return address sits above them: a blocked thread's registers are there.
constexpr size_t kSavedR15 = 0, kSavedR14 = 1, kSavedR13 = 2, kSavedR12 = 3, kSavedRbx = 4, kSavedRbp = 5,
                 kSavedRip = 6, kSavedWords = 7;

// All of this is touched only with interrupts off: in the COM2 IRQ, the #DB
// and #BP handlers, or the panic path, on the one CPU.
constinit Uart16550<X86PortIo> g_com2 { X86PortIo {}, kCom2 };
constinit TrapFrame* g_frame = nullptr;  // the stopped context
constinit DebugRegisters g_debug {};
constinit bool g_ready = false;
constinit bool g_stepping = false;      // a hardware step is under way: keep this thread on the CPU
constinit StepKind g_step_kind = StepKind::Hardware;
constinit uint64_t g_step_flags = 0;    // rflags before that step
constinit uint64_t g_stops = 0;
constinit uint64_t g_dr6 = 0;           // DR6 at the last #DB (the CPU's is cleared for the next)
constinit bool g_boot_wait = false;     // the int3 in wait_for_attach() is ours, not gdb's
// Set while a trap is in the stub's hands (from its hook's first line): a
// #BP or #DB then is a breakpoint inside the debugger, never a nested stop.
constinit bool g_inside = false;
constinit bool g_hinted = false;        // the Ctrl-] hint was printed this session
constinit bool g_nmi_poll = false;      // on_nmi set TF: the coming #DB is for reading COM2
// The stub has read COM2 since the last NMI that found no byte waiting: that
// NMI may be for bytes already read (see on_nmi).
constinit bool g_com2_read = false;
constinit bool g_com2_nmi = false;      // COM2's line is routed as an NMI (start_stub)
constinit bool g_can_sleep = false;     // this stop sleeps between bytes (begin_sleeping)
extern "C" const char __nobreak_start[], __nobreak_end[];
extern "C" void stub_wait_for_byte();  // stop_wait.S: from its start to stub_wait_window_end
extern "C" const char stub_wait_window_end[];
extern "C" const char __kernel_phys_start[], __kernel_phys_end[];  // linker.ld: the image's load range

// Code a trap runs before the stub lifts its breakpoints (kernel/lib/nobreak.h).
bool in_trap_path(uint64_t rip)
{
    return rip >= reinterpret_cast<uint64_t>(__nobreak_start) && rip < reinterpret_cast<uint64_t>(__nobreak_end);
}

EXO_NOBREAK uint64_t read_dr6()
{
    uint64_t v;
    asm volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}

EXO_NOBREAK void write_dr(int n, uint64_t v)
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

EXO_NOBREAK ThreadId current_gdb_id() { return threads::started() ? threads::current().id + 1 : 1; }

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
alignas(1) constexpr uint8_t kFrameOffset[] = {
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
    case GdbRegister::Cr8: {
        uint64_t v;
        asm volatile("mov %%cr8, %0" : "=r"(v));
        return v;
    }
    case GdbRegister::KGsBase: return cpu::rdmsr(kMsrKernelGsBase);
    case GdbRegister::Dr6: return g_dr6;
    case GdbRegister::Dr7: return g_debug.dr7;
    default: break;
    }
    // DR0-DR3 as the kernel runs with them; while stopped the CPU's are off.
    size_t slot = static_cast<size_t>(r) - static_cast<size_t>(GdbRegister::Dr0);
    if (slot < kDebugSlots)
        return g_debug.address[slot];
    return Error::NotFound;
}

// The saved word holding each of GdbRegister Rax..Rip (kNotSaved: none).
constexpr uint8_t kNotSaved = 0xFF;
alignas(1) constexpr uint8_t kSavedWord[] = {
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

    uint64_t link_address(uint64_t address)
    {
        bool in_image = address >= reinterpret_cast<uint64_t>(__kernel_phys_start)
            && address < reinterpret_cast<uint64_t>(__kernel_phys_end);
        return in_image ? address + memory::kKernelVma : address;
    }

    // The IST stacks count as the trap path too: NMIs run on theirs.
    __attribute__((noinline)) Result<uint8_t*> code_alias(uint64_t address)
    {
        if (in_trap_path(address) || gdt::on_ist_stack(address))
            return Error::Busy;
        return safe_memory::writable_alias(address);
    }

    EXO_NOBREAK void store_code(uint8_t* alias, uint8_t value)
    {
        uint64_t at = reinterpret_cast<uint64_t>(alias);
        bool unlocked = memory::set_alias_writable(at, true);
        *static_cast<volatile uint8_t*>(alias) = value;
        if (unlocked)
            memory::set_alias_writable(at, false);
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

    // Before the scheduler starts, thread 1 is the boot code.
    const char* thread_name(ThreadId thread)
    {
        Thread* t = thread_by_gdb_id(thread);
        return t ? t->name : "boot";
    }

    // What gdb shows after the name: state and ring.
    size_t thread_description(ThreadId thread, char* out, size_t capacity)
    {
        Thread* t = thread_by_gdb_id(thread);
        if (!t) {
            *out = '\0';
            return 0;
        }
        size_t n = format_to(out, capacity, "%s, ring %u", thread_state_name(t->state), static_cast<uint32_t>(t->ring));
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
        (void)table->execute(o, command, length, CommandOrigin::Debugger);
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

// The next byte from gdb. Once gdb has been silent a while (2^32 TSC
// cycles, 1-2 s), COM1 is read too, so that typing Ctrl-] three times there
// resumes the kernel when gdb is gone (Detach); other bytes are kept for the
// shell, and the first one gets a hint. Not sooner: while gdb talks, COM1
// input stays in the UART, as without a debugger.
GdbAction next_from_gdb(bool& typed)
{
    constexpr uint64_t kGdbSilentCycles = 1ull << 32;
    constexpr uint64_t kSpinCycles = 1ull << 24;  // ~8 ms at 2 GHz
    uint64_t since = cpu::rdtsc();
    int escapes = 0;
    for (;;) {
        Result<uint8_t> b = g_com2.try_get();
        if (b.ok())
            return g_stub.feed(b.value());
        Result<uint8_t> key = cpu::rdtsc() - since > kGdbSilentCycles ? console::try_read() : Error::NotFound;
        if (key.ok()) {
            escapes = key.value() == kEscape ? escapes + 1 : 0;
            if (escapes == kEscapeCount)
                return g_stub.detach();
            if (key.value() != kEscape) {
                typed |= serial_input::keep(key.value());
                if (!g_hinted) {
                    // Someone types at the shell of a stopped kernel: once
                    // per session, the way out if gdb died without detaching.
                    // An error line: the shell holds lesser ones while a
                    // command runs, and this one must be seen now.
                    log_error("gdb: kernel stopped by gdb; Ctrl-] x3 on COM1 resumes");
                    g_hinted = true;
                }
            }
        }
        // Spin through a burst of packets (a wake takes COM2's NMI, at 14
        // bytes or after ~350 us); sleep once gdb has been quiet a while.
        if (g_can_sleep && cpu::rdtsc() - since > kSpinCycles)
            stub_wait_for_byte();
        else
            cpu::pause();
    }
}

// While stopped and gdb is quiet, the vCPU sleeps instead of spinning on
// the UARTs: COM1 is routed as an NMI too (its Ctrl-] must wake it); COM2's
// NMI comes at 14 bytes or after a four-character timeout (~350 us, once
// per wake: a burst is spun through). Not at each byte: an NMI per byte
// made every packet ~0.6 ms slower under TCG. Only when both lines can
// raise NMIs: COM1's receive interrupt is on once the serial input driver
// runs (not yet during gdb=wait's boot stop).
void begin_sleeping()
{
    if (!g_com2_nmi || !serial_input::rx_interrupt_on() || !ioapic::mirror_isa_irq_as_nmi(kIrqCom1).ok())
        return;
    g_can_sleep = true;
}

void end_sleeping()
{
    if (!g_can_sleep)
        return;
    g_can_sleep = false;
    ioapic::unmirror_isa_irq(kIrqCom1);
}

// #BP and #DB run on their own IST stack: while the stub works on it, a
// trap of its own (reentered) lands below the stub's frames.
EXO_NOBREAK void set_inside(bool inside)
{
    g_inside = inside;
    gdt::nest_debug_stack(inside);
}

EXO_NOBREAK void load_debug_registers()
{
    for (size_t i = 0; i < kDebugSlots; ++i)
        write_dr(static_cast<int>(i), g_debug.address[i]);
    write_dr(6, 0);
    write_dr(7, g_debug.dr7);
}

// The stop/resume loop: talk to gdb until it resumes us, then set up the
// frame for what it asked (TF for a step, debug registers for a continue).
EXO_NOBREAK void stop_loop(TrapFrame& frame, const GdbStopEvent& event)
{
    cpu::cli();  // every entry path should have IF clear already; be sure
    g_com2_read = true;
    ++g_stops;
    TrapFrame* outer = g_frame;
    g_frame = &frame;
    write_dr(7, 0);  // no watchpoint may fire on the stub's own accesses
    if (g_stepping) {
        // The #DB that ends a step: TF and IF as the kernel had them, also
        // in the word a stepped pushf stored (both sit in its low 16 bits).
        // A stop for anything else (the stepped instruction faulted) means
        // it loaded and pushed nothing: only the flags are put back.
        bool completed = event.cause == GdbStopCause::Exception && event.vector == idt::vector::kDebug
            && (event.dr6 & kDr6SingleStep);
        StepKind kind = completed ? g_step_kind : StepKind::Hardware;
        frame.rflags = flags_after_step(kind, g_step_flags, frame.rflags);
        uint16_t pushed = 0;
        if (kind == StepKind::Pushf && safe_memory::read(frame.rsp, &pushed, 2).ok()) {
            pushed = static_cast<uint16_t>(flags_after_step(StepKind::Hardware, g_step_flags, pushed));
            (void)safe_memory::write(frame.rsp, &pushed, 2);
        }
        g_stepping = false;
    }
    GdbAction action = g_stub.notify_stop(event);  // lifts the breakpoints
    if (!outer)
        begin_sleeping();
    bool typed = false;
    for (;;) {
        while (action == GdbAction::None || action == GdbAction::Stop)
            action = next_from_gdb(typed);
        if (action != GdbAction::Step)
            break;
        uint8_t code[kLongestInstruction];
        StepPlan plan = plan_step(code, safe_memory::read(frame.rip, code, sizeof code).value_or(0));
        if (!is_emulated(plan.kind)) {
            // Interrupts stay masked while stepping, or `stepi` would land in
            // the timer handler instead of the next instruction.
            g_step_kind = plan.kind;
            g_step_flags = frame.rflags;
            frame.rflags = flags_for_step(frame.rflags);
            g_stepping = true;
            break;
        }
        emulate_step(plan, frame.rip, frame.rflags);
        action = g_stub.notify_stop(GdbStopEvent { GdbStopCause::Exception, idt::vector::kDebug, kDr6SingleStep,
            current_gdb_id() });
    }
    if (action == GdbAction::Detach)
        g_hinted = false;  // the next session gets the hint again
    // RF: the instruction at rip runs even if a hardware breakpoint is on it
    // (the one that stopped us, say), as after any #DB fault.
    frame.rflags |= kFlagRf;
    // Bytes typed on COM1 while stopped: the shell may only be woken where
    // an interrupt could have come (IF was set); otherwise the next one does.
    if (typed && (frame.rflags & kFlagIf))
        serial_input::wake_readers();
    if (!outer)
        end_sleeping();
    g_stub.plant_breakpoints(g_stepping ? frame.rip : 0);
    load_debug_registers();
    g_frame = outer;
}

// A #BP or #DB while the stub already handles a trap: a breakpoint in code
// the debugger runs (or a watchpoint on its data). Like kgdb, never stop
// again: lift every breakpoint, drop the one hit, turn the debug registers
// off for now, and say so.
EXO_NOBREAK bool reentered(TrapFrame& frame, bool int3)
{
    g_stub.lift_breakpoints();
    write_dr(7, 0);
    bool ours = int3 && g_stub.forget_breakpoint(frame.rip - 1);
    if (ours)
        frame.rip -= 1;
    log_error("gdb: trap inside the debugger; breakpoint removed");
    return int3 ? ours : true;
}

EXO_NOBREAK bool on_breakpoint(TrapFrame& frame)
{
    // A user program's own int3 with no gdb attached is a fault like any
    // other: trap_dispatch kills that thread (it used to enter the stop loop
    // and freeze the machine waiting for a gdb nobody runs).
    if (!g_ready || (frame.from_user() && !g_stub.attached()))
        return false;
    if (g_inside)
        return reentered(frame, true);
    set_inside(true);
    GdbStopEvent event { GdbStopCause::Exception, idt::vector::kBreakpoint, 0, current_gdb_id() };
    if (g_boot_wait) {
        g_boot_wait = false;
        event.cause = GdbStopCause::Requested;
    }
    // The stub moves rip back onto the int3 itself, for its own breakpoints only.
    stop_loop(frame, event);
    set_inside(false);
    return true;
}

void on_com2(TrapFrame& frame);

EXO_NOBREAK bool on_debug(TrapFrame& frame)
{
    // A user program that sets TF itself, with no gdb attached: a fault
    // that kills the thread, as for its int3 (on_breakpoint).
    if (!g_ready || (frame.from_user() && !g_stub.attached()))
        return false;
    if (g_inside)
        return reentered(frame, false);
    uint64_t dr6 = read_dr6();
    g_dr6 = dr6;
    write_dr(6, 0);
    if (g_nmi_poll && !g_stepping && !(dr6 & kDr6Slots)) {
        g_nmi_poll = false;  // the step on_nmi asked for: now read COM2
        frame.rflags &= ~kFlagTf;
        on_com2(frame);
        return true;
    }
    // No cause left and no gdb: a #DB whose DR6 a nested one already took
    // and reported (a watchpoint on this stack, hit by the trap path's own
    // pushes before we got here); that stop is over, so go on. It used to
    // get the panic report once gdb detached.
    if (!(dr6 & (kDr6SingleStep | kDr6Slots)) && !g_stub.attached())
        return true;
    set_inside(true);
    stop_loop(frame, GdbStopEvent { GdbStopCause::Exception, idt::vector::kDebug, dr6, current_gdb_id() });
    set_inside(false);
    return true;
}

EXO_NOBREAK void on_com2(TrapFrame& frame)
{
    set_inside(true);
    g_com2_read = true;
    for (;;) {
        Result<uint8_t> b = g_com2.try_get();
        if (!b.ok())
            break;
        if (g_stub.feed(b.value()) == GdbAction::Stop) {
            stop_loop(frame, GdbStopEvent { GdbStopCause::Requested, 0, 0, current_gdb_id() });
            break;
        }
    }
    set_inside(false);
}

// COM2's line also arrives as an NMI (ioapic::mirror_isa_irq_as_nmi). With
// IF set, IRQ 3 follows and handles the bytes; with IF clear (a kernel
// spinning with interrupts off, an interrupt handler) the NMI is the only
// way in, so gdb's Ctrl-C still stops it. Nothing is read on the NMI's own
// stack: an IRET from any fault taken there would let a second NMI overwrite
// it. The NMI only steps the interrupted code by one instruction; the #DB
// after it reads COM2 on the interrupted stack (on_debug). Not while the
// stub, the trap path or a gdb step is at work: they read COM2 themselves.
// An NMI with no byte waiting (and the stub idle) is not COM2's: it gets
// the panic report, as before the stub took NMIs. Except once after the
// stub read COM2: QEMU can deliver the NMI of a byte after the IRQ 3
// handler has drained the FIFO and returned (the live fuzzer's COM2 noise
// panicked the kernel so). It calls nothing (the UART status read is
// inline): a breakpoint hit here would run the stop loop on the NMI stack.
EXO_NOBREAK bool on_nmi(TrapFrame& frame)
{
    if (g_inside) {
        // The stub reads COM2 itself; if it was about to sleep, it must not.
        if (frame.rip >= reinterpret_cast<uint64_t>(&stub_wait_for_byte)
            && frame.rip < reinterpret_cast<uint64_t>(stub_wait_window_end))
            frame.rip = reinterpret_cast<uint64_t>(stub_wait_window_end);
        return true;
    }
    if (!g_com2.data_ready()) {
        bool late = g_com2_read;
        g_com2_read = false;
        return late;
    }
    if (!g_stepping && !(frame.rflags & kFlagIf) && !in_trap_path(frame.rip)) {
        g_nmi_poll = true;
        frame.rflags |= kFlagTf;
    }
    return true;
}

Result<void> start_stub()
{
    // gdb=off: whoever reaches COM2 owns the machine, so it can be left alone.
    if (boot_sequence::options().gdb == GdbMode::Off)
        return Error::Absent;
    TRY_VOID(g_com2.init(console::kBaud));
    g_stub.bind(g_target, com2_write, nullptr);
    idt::set_exception_hook(idt::vector::kBreakpoint, on_breakpoint);
    idt::set_exception_hook(idt::vector::kDebug, on_debug);
    idt::set_irq_handler(kIrqCom2, on_com2);
    bool nmi = ioapic::mirror_isa_irq_as_nmi(kIrqCom2).ok();
    g_com2_nmi = nmi;
    if (nmi)
        idt::set_exception_hook(idt::vector::kNmi, on_nmi);
    g_com2.enable_rx_interrupt();
    pic::unmask(kIrqCom2);
    g_ready = true;
    driver_detail("gdbstub", "RSP on COM2 0x2f8, IRQ 3%s, %u baud", nmi ? " and NMI" : "",
        console::kBaud);
    return {};
}

}  // namespace

EXO_DRIVER_TASK(kGdbStubTask, "gdbstub", BootPhase::Critical, start_stub, "idt", "safe-memory");

void wait_for_attach()
{
    if (!g_ready) {
        log_error("gdb=wait: no COM2; booting on");
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
    if (g_inside) {
        log_error("panic in the gdb stub: not reentering");
        return;
    }
    set_inside(true);
    log_error("panic: handing the CPU to gdb on COM2");
    for (;;)
        stop_loop(frame, GdbStopEvent { GdbStopCause::Panic, static_cast<uint8_t>(frame.vector), 0, current_gdb_id() });
}

bool holding_cpu() { return g_stepping; }
bool listening() { return g_ready; }
const GdbStub& stub() { return g_stub; }
uint64_t stops() { return g_stops; }

}  // namespace exo::gdb_server
