// The GDB stub proper: command dispatch and debugger state over an RspCodec
// and a GdbTarget. Pure: the kernel feeds it received bytes and stop events
// and acts on what it returns.
//
// Kernel side, in short:
//   while running, each COM2 byte:  if (stub.feed(b) == GdbAction::Stop) stop;
//   when stopped (that request, a breakpoint, a step, a fault, gdb=wait):
//       action = stub.notify_stop(event);   // lifts the breakpoints first
//       while (action == GdbAction::None) action = stub.feed(read_byte());
//       stub.plant_breakpoints(step ? rip : 0);  // the last thing before resuming
//       resume as `action` says (Step: one instruction of resume_thread()).
// Software breakpoints are in memory only while the kernel runs (as kgdb
// does): nothing the stub runs while stopped can hit one, so a breakpoint on
// strlen or memcmp cannot re-enter it.
// A gdb attaching while the kernel runs makes feed() return Stop on its
// first packet; notify_stop() then answers that packet.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "gdbstub/hex.h"
#include "gdbstub/rsp_codec.h"
#include "gdbstub/target.h"

namespace exo {

enum class GdbAction : uint8_t {
    None,      // keep feeding bytes
    Stop,      // only while running: stop the kernel, then call notify_stop()
    Continue,  // resume; a stop reply is due at the next notify_stop()
    Step,      // execute one instruction of resume_thread(), then notify_stop()
    Detach,    // gdb left (D or k): breakpoints are removed; resume
};

enum class GdbStopCause : uint8_t {
    Requested,  // feed() asked for it, or the kernel waits for gdb at boot
    Exception,  // a CPU exception: `vector` (and `dr6` for #DB) say which
    Panic,      // the kernel panicked
};

// Report registers as the CPU left them: after an int3, rip points past it
// and the stub moves it back when the int3 is one of its breakpoints.
struct GdbStopEvent {
    GdbStopCause cause = GdbStopCause::Requested;
    uint8_t vector = 0;    // x86 exception vector (Intel SDM Vol. 3A, 6.3.1)
    uint64_t dr6 = 0;      // DR6 at a #DB: B0-B3 name the slot that fired, BS a step
    ThreadId thread = 0;   // the thread that was running
};

// Why the last stop happened, as reported in the stop reply.
enum class GdbStopReason : uint8_t { None, SwBreak, HwBreak, Watch, AccessWatch };  // see HwKind

constexpr size_t kGdbMaxSwBreakpoints = 32;

class GdbStub {
public:
    // The kernel's instance is `constinit GdbStub g_stub;` (all zero, so its
    // buffers land in .bss, not in the image) and bind()s at boot.
    constexpr GdbStub() = default;
    GdbStub(GdbTarget& target, RspWriteFn write, void* ctx) { bind(target, write, ctx); }
    void bind(GdbTarget& target, RspWriteFn write, void* ctx)
    {
        m_target = &target;
        m_codec.bind(write, ctx);
    }

    GdbAction feed(uint8_t byte);
    GdbAction notify_stop(const GdbStopEvent& event);

    // int3 bytes in or out of memory. notify_stop() lifts them itself;
    // the kernel plants them when it resumes, `except` at the address a step
    // starts from (0: none), so the step executes the real instruction.
    void lift_breakpoints();
    void plant_breakpoints(uint64_t except);
    // A breakpoint hit inside the debugger: forgets the one at `address`
    // (lifted already); whether there was one.
    bool forget_breakpoint(uint64_t address);
    // Removes every breakpoint and resumes: gdb's D and k, and the console's
    // way out when gdb is gone without detaching (no reply is sent).
    GdbAction detach();

    // The thread a Step applies to (GDB thread id).
    ThreadId resume_thread() const { return m_resume_thread; }
    // A gdb has sent a packet since the last detach.
    bool attached() const { return m_attached; }
    bool running() const { return !m_stopped; }
    GdbStopReason stop_reason() const { return m_reason; }
    const RspCounters& counters() const { return m_codec.counters(); }
    // Software breakpoints planted plus debug-register slots in use.
    size_t breakpoint_count() const
    {
        size_t n = 0;
        for (const SwBreakpoint& b : m_software)
            n += b.used;
        for (const HwSlot& h : m_hardware)
            n += h.kind != HwKind::Free;
        return n;
    }
    RspAckMode ack_mode() const { return m_codec.ack_mode(); }

private:
    // In GdbStopReason's order, one below: a slot's kind + 1 is its stop reason.
    enum class HwKind : uint8_t { Free, Exec, Write, Access };
    // One debug register: a naturally aligned piece of the range gdb asked
    // to watch (`watch`, `watch_length`), which may take several.
    struct HwSlot {
        uint64_t address = 0;
        uint64_t watch = 0;
        uint8_t length = 0;
        uint8_t watch_length = 0;
        HwKind kind = HwKind::Free;
    };
    struct SwBreakpoint {
        uint64_t address = 0;
        uint8_t* alias = nullptr;  // where its byte is stored (GdbTarget::code_alias)
        uint8_t saved = 0;
        bool used = false;
    };
    // Reads the arguments of one packet, left to right.
    class Cursor {
    public:
        constexpr Cursor(char* begin, char* end) : m_p(begin), m_end(end) {}

        __attribute__((noinline)) bool at_end() const { return m_p == m_end; }
        char* pos() const { return m_p; }
        size_t left() const { return static_cast<size_t>(m_end - m_p); }
        char next() { return at_end() ? '\0' : *m_p++; }

        bool eat(char c)
        {
            if (at_end() || *m_p != c)
                return false;
            ++m_p;
            return true;
        }

        bool eat(const char* prefix)
        {
            size_t n = __builtin_strlen(prefix);
            if (left() < n || __builtin_memcmp(m_p, prefix, n) != 0)
                return false;
            m_p += n;
            return true;
        }

        // Which of the NUL-separated `prefixes` the input starts with (and
        // consumes): its index, or -1. One loop instead of an eat() per name.
        int match(const char* prefixes)
        {
            for (int i = 0; *prefixes != '\0'; ++i, prefixes += __builtin_strlen(prefixes) + 1) {
                if (eat(prefixes))
                    return i;
            }
            return -1;
        }

        // 1 to 16 hex digits.
        bool number(uint64_t& out)
        {
            out = 0;
            size_t digits = 0;
            for (int v; !at_end() && (v = hex_value(*m_p)) != kNotHex; ++m_p, ++digits)
                out = out << 4 | static_cast<uint64_t>(v);
            return digits != 0 && digits <= 16;
        }

        // "<number>,<number>", as in addr,length.
        bool pair(uint64_t& first, uint64_t& second) { return number(first) && eat(',') && number(second); }

        // A thread id; "-1" (all) and "0" (any) both come back as 0.
        bool thread(ThreadId& out)
        {
            if (eat("-1")) {
                out = 0;
                return true;
            }
            return number(out);
        }

        // Two hex digits.
        bool byte(uint8_t& out)
        {
            int hi = hex_value(next());
            int lo = hex_value(next());
            out = static_cast<uint8_t>(hi << 4 | lo);
            return hi != kNotHex && lo != kNotHex;
        }

        // `bytes` bytes of a little-endian image, two digits each.
        bool little_endian(size_t bytes, uint64_t& out)
        {
            out = 0;
            for (size_t i = 0; i < bytes; ++i) {
                uint8_t b = 0;
                if (!byte(b))
                    return false;
                out |= static_cast<uint64_t>(b) << (8 * i);
            }
            return true;
        }

        // Hex pairs to bytes in place, their number in `count`; false unless
        // everything left is hex pairs.
        bool decode_hex(size_t& count)
        {
            char* out = m_p;
            count = 0;
            if (left() % 2 != 0)
                return false;
            while (!at_end()) {
                uint8_t b = 0;
                if (!byte(b))
                    return false;
                out[count++] = static_cast<char>(b);
            }
            return true;
        }

    private:
        char* m_p;
        char* m_end;
    };

    GdbAction handle(RspEvent event);
    GdbAction dispatch(Cursor& c, char command);
    GdbAction resume(GdbAction action);
    GdbAction resume_legacy(Cursor& c, char command, ThreadId& thread);
    GdbAction resume_vcont(Cursor& c, ThreadId& step_thread);
    void reply(const char* text);
    void put_register(GdbRegister reg);
    void load_debug_registers();
    void remove_all_breakpoints();
    // Packet handlers: the reply text, or nullptr if they sent their own.
    const char* send_stop_reply();
    const char* read_registers();
    const char* write_registers(Cursor& c);
    const char* read_register(Cursor& c);
    const char* write_register(Cursor& c);
    const char* read_memory(Cursor& c);
    const char* write_memory(Cursor& c, char command);
    const char* breakpoint(Cursor& c, char command);
    bool trap_path(uint64_t address);  // code_alias says Busy
    const char* insert_software(uint64_t address);
    const char* remove_software(uint64_t address);
    const char* change_hardware(HwKind kind, uint64_t address, uint64_t length, char command);
    bool release_hardware(HwKind kind, uint64_t address, uint64_t length);
    const char* query(Cursor& c);
    const char* read_xfer(Cursor& c, bool threads);
    size_t emit_document(bool threads, size_t offset, size_t count);
    const char* scan_memory(Cursor& c, bool search);
    const char* monitor(Cursor& c);
    const char* set_thread(Cursor& c);
    static void console_write(void* ctx, const char* data, size_t length);

    GdbTarget* m_target = nullptr;
    RspCodec m_codec;
    // The packet being handled. A member rather than handle()'s local: the
    // handlers reach it through `this` and the image is 144 B smaller. It
    // holds a value only during one handle() call, which must not re-enter.
    Cursor m_cursor { nullptr, nullptr };
    SwBreakpoint m_software[kGdbMaxSwBreakpoints] {};
    HwSlot m_hardware[kDebugSlots] {};
    ThreadId m_stop_thread = 0;
    ThreadId m_general_thread = 0;  // Hg: registers come from here
    ThreadId m_continue_thread = 0; // Hc: 0 means the stopped thread
    ThreadId m_resume_thread = 0;
    uint64_t m_watch_address = 0;
    GdbStopReason m_reason = GdbStopReason::None;
    uint8_t m_signal = 0;
    RspEvent m_pending = RspEvent::None;  // a packet that arrived while running
    bool m_stopped = false;               // the kernel boots running
    bool m_waiting = false;               // gdb awaits a stop reply
    bool m_interrupt = false;             // Ctrl-C asked for the coming stop
    bool m_attached = false;
};

}  // namespace exo
