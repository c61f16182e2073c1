#include "gdbstub/stub.h"

#include "gdbstub/hex.h"
#include "gdbstub/target_xml.h"
#include "kernel/lib/names.h"
#include "kernel/lib/nobreak.h"

namespace exo {

namespace {

// Signal numbers in stop replies are GDB's own (include/gdb/signals.def),
// not the host's.
constexpr uint8_t kSigInt = 2;
constexpr uint8_t kSigIll = 4;
constexpr uint8_t kSigTrap = 5;
constexpr uint8_t kSigFpe = 8;
constexpr uint8_t kSigBus = 10;
constexpr uint8_t kSigSegv = 11;

// Exception vectors (Intel SDM Vol. 3A, table 6-1).
constexpr uint8_t kVectorDivide = 0;
constexpr uint8_t kVectorDebug = 1;
constexpr uint8_t kVectorBreakpoint = 3;
constexpr uint8_t kVectorInvalidOpcode = 6;
constexpr uint8_t kVectorX87 = 16;
constexpr uint8_t kVectorAlignment = 17;
constexpr uint8_t kVectorSimd = 19;

constexpr uint8_t kInt3 = 0xCC;

// DR7 (Intel SDM Vol. 3B, 18.2.4): Gn enables slot n globally at bit 2n+1;
// GE (bit 9) asks for exact data breakpoints; R/Wn and LENn sit in the
// nibble at 16 + 4n (R/W in its low two bits).
constexpr uint64_t kDr7Global0 = 1u << 1;
constexpr uint64_t kDr7GlobalExact = 1u << 9;
constexpr unsigned kDr7ControlShift = 16;
constexpr uint64_t kDr7Write = 0b01;
constexpr uint64_t kDr7Access = 0b11;
constexpr uint64_t kDr7LenShift = 2;
constexpr uint64_t kDr7Len2 = 0b01;
constexpr uint64_t kDr7Len8 = 0b10;
constexpr uint64_t kDr7Len4 = 0b11;
// R/W by HwKind (Free, Exec, Write, Access) and LEN by length in bytes.
constexpr uint8_t kDr7ReadWrite[] = { 0, 0, kDr7Write, kDr7Access };
constexpr uint8_t kDr7Length[] = { 0, 0, kDr7Len2, 0, kDr7Len4, 0, 0, 0, kDr7Len8 };

// Error replies, errno-numbered like other stubs.
constexpr const char* kErrMalformed = "E01";
constexpr const char* kErrNoThread = "E03";  // ESRCH: no such thread, or not one this CPU can step
constexpr const char* kErrRefused = "E0d";   // EACCES: a breakpoint in the debugger's own path
constexpr const char* kErrFault = "E14";    // EFAULT
constexpr const char* kErrInvalid = "E22";  // EINVAL: a watch gdb cannot have here
constexpr const char* kErrNoSpace = "E28";  // ENOSPC: breakpoint table or DR slots full
constexpr const char* kOk = "OK";

static_assert(kRspPacketSize == 0x800, "PacketSize below must match");
constexpr const char* kSupported =
    "PacketSize=800;qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;vContSupported+;swbreak+;hwbreak+";

constexpr size_t kMaxNumberDigits = 16;       // a 64-bit number in hex
constexpr size_t kThreadDescription = 64;     // chars of a thread's extra info
// qCRC and qSearch read memory into the reply buffer's free end, after room
// for their own reply ("C" and 8 digits, "1," and 16). A search pattern
// (what is left of a packet after its name) always fits in a window.
constexpr size_t kScanReplyRoom = 2 + kMaxNumberDigits;
constexpr size_t kScanWindow = kRspPacketSize - kScanReplyRoom;
static_assert(kScanWindow >= kRspPacketSize - sizeof("qSearch:memory:0;0;") + 1);

// gdb's CRC-32 (libiberty's xcrc32): polynomial 0x04C11DB7, most
// significant bit first, no reflection, no final xor (CRC-32/MPEG-2).
uint32_t crc32_gdb(uint32_t crc, const uint8_t* data, size_t size)
{
    for (size_t i = 0; i < size; ++i) {
        crc ^= static_cast<uint32_t>(data[i]) << 24;
        for (int bit = 0; bit < 8; ++bit)
            crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

uint8_t signal_for_vector(uint8_t vector)
{
    switch (vector) {
    case kVectorDivide:
    case kVectorX87:
    case kVectorSimd: return kSigFpe;
    case kVectorDebug:
    case kVectorBreakpoint: return kSigTrap;
    case kVectorInvalidOpcode: return kSigIll;
    case kVectorAlignment: return kSigBus;
    default: return kSigSegv;
    }
}

}  // namespace


EXO_NOBREAK GdbAction GdbStub::feed(uint8_t byte)
{
    RspEvent event = m_codec.feed(byte);
    if (event == RspEvent::None)
        return GdbAction::None;
    if (event == RspEvent::Interrupt) {
        // gdb only sends Ctrl-C while it waits for the kernel to stop; a
        // stray 0x03 with no gdb attached must not halt the kernel.
        if (m_stopped || !m_attached)
            return GdbAction::None;
        m_interrupt = true;
        return GdbAction::Stop;
    }
    m_attached = true;
    if (!m_stopped) {
        m_pending = event;
        return GdbAction::Stop;
    }
    return handle(event);
}

EXO_NOBREAK GdbAction GdbStub::notify_stop(const GdbStopEvent& event)
{
    lift_breakpoints();
    m_stopped = true;
    m_stop_thread = m_general_thread = event.thread;
    m_continue_thread = 0;
    m_reason = GdbStopReason::None;
    switch (event.cause) {
    case GdbStopCause::Requested: m_signal = m_interrupt ? kSigInt : kSigTrap; break;
    case GdbStopCause::Panic:  // a panic comes from an exception: report which
    case GdbStopCause::Exception: m_signal = signal_for_vector(event.vector); break;
    }
    m_interrupt = false;

    if (event.cause == GdbStopCause::Exception && event.vector == kVectorBreakpoint) {
        // int3 traps after itself: point rip back at our breakpoint so gdb
        // sees the address it asked for. A compiled-in int3 stays as is.
        Result<uint64_t> rip = m_target->read_register(event.thread, GdbRegister::Rip);
        for (const SwBreakpoint& bp : m_software) {
            if (rip.ok() && bp.used && bp.address == rip.value() - 1) {
                (void)m_target->write_register(event.thread, GdbRegister::Rip, bp.address);
                m_reason = GdbStopReason::SwBreak;
            }
        }
    } else if (event.cause == GdbStopCause::Exception && event.vector == kVectorDebug) {
        for (size_t i = 0; i < kDebugSlots; ++i) {
            const HwSlot& slot = m_hardware[i];
            if (slot.kind == HwKind::Free || (event.dr6 & (1u << i)) == 0)
                continue;
            m_watch_address = slot.watch;
            m_reason = static_cast<GdbStopReason>(static_cast<uint8_t>(slot.kind) + 1);  // same order
            break;
        }
    }

    if (m_pending != RspEvent::None) {
        // gdb sent a packet, so it was not waiting for a stop: answer that.
        RspEvent pending = m_pending;
        m_pending = RspEvent::None;
        m_waiting = false;
        return handle(pending);
    }
    if (m_waiting) {
        m_waiting = false;
        send_stop_reply();
    }
    return GdbAction::None;
}

GdbAction GdbStub::handle(RspEvent event)
{
    if (event == RspEvent::Oversized) {
        reply(kErrMalformed);
        return GdbAction::None;
    }
    // Handlers that send their own reply build it from here (reply() and
    // send_stop_reply() start theirs afresh).
    m_codec.begin_reply();
    // The body is NUL-terminated, so an empty packet dispatches as '\0'.
    char* packet = m_codec.packet();
    char* end = packet + m_codec.packet_length();
    m_cursor = Cursor(packet == end ? end : packet + 1, end);
    return dispatch(m_cursor, packet[0]);
}

// Handlers return the reply text, or nullptr once they sent their own (the
// reply is begun for them in handle()). An
// if-chain: a switch over these letters becomes a 480-byte jump table.
GdbAction GdbStub::dispatch(Cursor& c, char command)
{
    GdbAction action = GdbAction::None;
    const char* answer = "";  // unknown packets get the empty reply
    if (command == 'c' || command == 'C' || command == 's' || command == 'S' || (command == 'v' && c.eat("Cont;"))) {
        // Only the thread that stopped is on the CPU, so only it can be
        // stepped (kgdb answers the same): stepping another is an error,
        // never a silent step of this one.
        ThreadId thread = 0;
        action = command == 'v' ? resume_vcont(c, thread) : resume_legacy(c, command, thread);
        answer = action == GdbAction::None                                             ? kErrMalformed
            : action == GdbAction::Step && thread != 0 && thread != m_stop_thread ? kErrNoThread
                                                                                   : nullptr;
        action = answer != nullptr ? GdbAction::None : resume(action);
    } else if ((command == 'D' && (c.at_end() || c.eat(';'))) || (command == 'k' && c.at_end())) {
        // D, D;pid and k only: any other packet starting so is unknown.
        action = detach();
        answer = command == 'D' ? kOk : nullptr;  // k: never kill the kernel, no reply is due
    } else if (command == '?') {
        answer = send_stop_reply();
    } else if (command == 'g') {
        answer = read_registers();
    } else if (command == 'G') {
        answer = write_registers(c);
    } else if (command == 'p') {
        answer = read_register(c);
    } else if (command == 'P') {
        answer = write_register(c);
    } else if (command == 'm') {
        answer = read_memory(c);
    } else if (command == 'M' || command == 'X') {
        answer = write_memory(c, command);
    } else if (command == 'Z' || command == 'z') {
        answer = breakpoint(c, command);
    } else if (command == 'q') {
        answer = query(c);
    } else if (command == 'H') {
        answer = set_thread(c);
    } else if (command == 'T') {
        ThreadId thread = 0;
        answer = c.thread(thread) && c.at_end() && m_target->thread_alive(thread) ? kOk : kErrMalformed;
    } else if (command == 'v' && c.eat("Cont?")) {
        answer = "vCont;c;C;s;S";
    } else if (command == 'Q' && c.eat("StartNoAckMode") && c.at_end()) {
        reply(kOk);
        m_codec.request_no_ack();
        answer = nullptr;
    }
    if (answer != nullptr)
        reply(answer);
    return action;
}

GdbAction GdbStub::detach()
{
    remove_all_breakpoints();
    m_stopped = false;
    m_waiting = false;
    m_attached = false;
    return GdbAction::Detach;
}

// Every resume: gdb now waits for a stop reply.
GdbAction GdbStub::resume(GdbAction action)
{
    m_resume_thread = m_stop_thread;
    m_stopped = false;
    m_waiting = true;
    return action;
}

// c [addr], s [addr], C sig[;addr], S sig[;addr]; the signal is ignored.
// None means malformed; `thread` is the one Hc chose. rip is written only
// once the whole packet parsed: a malformed one (E01, `c1234zz`) used to
// move it anyway, and the next `c` jumped there.
GdbAction GdbStub::resume_legacy(Cursor& c, char command, ThreadId& thread)
{
    bool with_signal = command == 'C' || command == 'S';
    uint64_t value = 0;
    thread = m_continue_thread != 0 ? m_continue_thread : m_stop_thread;
    bool ok = !with_signal || c.number(value);
    bool jump = ok && (with_signal ? c.eat(';') : !c.at_end());
    if (jump)
        ok = c.number(value);
    if (!ok || !c.at_end() || (jump && !m_target->write_register(thread, GdbRegister::Rip, value).ok()))
        return GdbAction::None;
    return command == 'c' || command == 'C' ? GdbAction::Continue : GdbAction::Step;
}

// vCont;action[:thread]... In all-stop on one CPU, a step anywhere wins;
// `step_thread` is the thread it names (0: any).
GdbAction GdbStub::resume_vcont(Cursor& c, ThreadId& step_thread)
{
    GdbAction action = GdbAction::Continue;
    do {
        char kind = c.next();
        uint64_t signal = 0;
        ThreadId thread = 0;
        bool ok = kind == 'c' || kind == 's' || ((kind == 'C' || kind == 'S') && c.number(signal));
        if (!ok || (c.eat(':') && !c.thread(thread)))
            return GdbAction::None;
        if ((kind == 's' || kind == 'S') && action != GdbAction::Step) {
            action = GdbAction::Step;
            step_thread = thread;
        }
    } while (c.eat(';'));
    return c.at_end() ? action : GdbAction::None;
}

void GdbStub::reply(const char* text)
{
    m_codec.begin_reply();
    m_codec.put(text);
    m_codec.send_reply();
}

// T<signal>thread:<id>;06:<rbp>;07:<rsp>;10:<rip>;[reason:[addr];]
const char* GdbStub::send_stop_reply()
{
    constexpr GdbRegister kExpedited[] = { GdbRegister::Rbp, GdbRegister::Rsp, GdbRegister::Rip };
    m_codec.begin_reply();
    m_codec.put('T');
    m_codec.put_hex_byte(m_signal);
    m_codec.put("thread:");
    m_codec.put_number(m_stop_thread);
    m_codec.put(';');
    for (GdbRegister reg : kExpedited) {
        Result<uint64_t> value = m_target->read_register(m_stop_thread, reg);
        if (!value.ok())
            continue;
        m_codec.put_hex_byte(static_cast<uint8_t>(reg));
        m_codec.put(':');
        m_codec.put_le(value.value(), register_size(reg));
        m_codec.put(';');
    }
    if (m_reason != GdbStopReason::None) {
        m_codec.put(name_at("swbreak\0hwbreak\0watch\0awatch\0", static_cast<size_t>(m_reason) - 1));
        m_codec.put(':');
        if (m_reason >= GdbStopReason::Watch)
            m_codec.put_number(m_watch_address);
        m_codec.put(';');
    }
    m_codec.send_reply();
    return nullptr;
}

// One register image; 'x' digits mark it unavailable.
void GdbStub::put_register(GdbRegister reg)
{
    size_t size = register_size(reg);
    Result<uint64_t> value = is_x87_register(reg) ? Result<uint64_t>(Error::Unsupported)
                                                  : m_target->read_register(m_general_thread, reg);
    if (value.ok()) {
        m_codec.put_le(value.value(), size);
        return;
    }
    for (size_t i = 0; i < 2 * size; ++i)
        m_codec.put('x');
}

const char* GdbStub::read_registers()
{
    for (size_t i = 0; i < kGdbRegisterCount; ++i)
        put_register(static_cast<GdbRegister>(i));
    m_codec.send_reply();
    return nullptr;
}

// The whole `g` image, all or nothing: x87 and 'x'-marked registers are
// skipped, unchanged values are not written (so read-only registers given
// back as read pass), and every change is checked before any is made (by
// writing the register's own value back: refused where it cannot change).
const char* GdbStub::write_registers(Cursor& c)
{
    uint64_t values[kGdbRegisterCount];
    uint64_t changed = 0;  // bit i: register i gets values[i]
    static_assert(kGdbRegisterCount <= 64);
    if (c.left() != 2 * kGdbRegisterBytes)
        return kErrMalformed;
    for (size_t i = 0; i < kGdbRegisterCount; ++i) {
        GdbRegister reg = static_cast<GdbRegister>(i);
        size_t size = register_size(reg);
        if (is_x87_register(reg) || *c.pos() == 'x') {
            for (size_t k = 0; k < 2 * size; ++k)
                c.next();
            continue;
        }
        if (!c.little_endian(size, values[i]))
            return kErrMalformed;
        Result<uint64_t> now = m_target->read_register(m_general_thread, reg);
        if (now.ok() && now.value() == values[i])
            continue;
        if (!now.ok() || !m_target->write_register(m_general_thread, reg, now.value()).ok())
            return kErrMalformed;
        changed |= uint64_t { 1 } << i;
    }
    for (size_t i = 0; i < kGdbRegisterCount; ++i) {
        if (changed >> i & 1)
            (void)m_target->write_register(m_general_thread, static_cast<GdbRegister>(i), values[i]);
    }
    return kOk;
}

const char* GdbStub::read_register(Cursor& c)
{
    uint64_t n = 0;
    if (!c.number(n) || !c.at_end() || n >= kGdbRegisterCount)
        return kErrMalformed;
    put_register(static_cast<GdbRegister>(n));
    m_codec.send_reply();
    return nullptr;
}

const char* GdbStub::write_register(Cursor& c)
{
    uint64_t n = 0;
    uint64_t value = 0;
    bool ok = c.number(n) && c.eat('=') && n < kGdbRegisterCount;
    GdbRegister reg = static_cast<GdbRegister>(n);
    ok = ok && !is_x87_register(reg) && c.little_endian(register_size(reg), value) && c.at_end();
    return ok && m_target->write_register(m_general_thread, reg, value).ok() ? kOk : kErrMalformed;
}

// m addr,len: clamped to what one reply holds; a partial read returns the
// readable prefix, nothing readable is E14.
const char* GdbStub::read_memory(Cursor& c)
{
    uint64_t address = 0;
    uint64_t length = 0;
    if (!c.pair(address, length) || !c.at_end())
        return kErrMalformed;
    size_t room = m_codec.reply_room() / 2;
    size_t count = length < room ? static_cast<size_t>(length) : room;
    // Read into the upper half of the reply and expand to hex upward in
    // place: byte i is consumed before digits 2i, 2i+1 overwrite anything.
    char* out = m_codec.reply_end();
    uint8_t* raw = reinterpret_cast<uint8_t*>(out + count);
    Result<size_t> got = m_target->read_memory(address, raw, count);
    size_t n = got.value_or(0) < count ? got.value_or(0) : count;
    if (count != 0 && n == 0)
        return kErrFault;
    for (size_t i = 0; i < n; ++i) {
        uint8_t b = raw[i];
        out[2 * i] = hex_digit(b >> 4);
        out[2 * i + 1] = hex_digit(b);
    }
    m_codec.grow_reply(2 * n);
    m_codec.send_reply();
    return nullptr;
}

// M addr,len:hex and X addr,len:binary (escapes already undone by the codec).
const char* GdbStub::write_memory(Cursor& c, char command)
{
    uint64_t address = 0;
    uint64_t length = 0;
    bool ok = c.pair(address, length) && c.eat(':');
    uint8_t* data = reinterpret_cast<uint8_t*>(c.pos());
    size_t count = c.left();
    if (ok && command == 'M')
        ok = c.decode_hex(count);
    if (!ok || count != length)
        return kErrMalformed;
    if (count == 0)
        return kOk;  // gdb probes X support with an empty write
    Result<size_t> put = m_target->write_memory(address, data, count);
    return put.value_or(0) == count ? kOk : kErrFault;
}

// Z/z type,addr,kind: 0 software, 1 hardware, 2 write, 3 read, 4 access.
const char* GdbStub::breakpoint(Cursor& c, char command)
{
    char type = c.next();
    uint64_t address = 0;
    uint64_t kind = 0;
    if (!c.eat(',') || !c.pair(address, kind))
        return kErrMalformed;
    if (type == '0')
        return command == 'Z' ? insert_software(address) : remove_software(address);
    if (type != '1' && type != '2' && type != '4')
        return "";  // x86 cannot watch reads alone (Z3)
    // Like an int3 there, a debug register on the trap path (its code, or
    // the stacks NMIs run on) re-enters the stub: a watchpoint hit by the
    // NMI entry stopped inside the NMI, whose IST stack the next NMI, let
    // in by the #DB's iret, then overwrote (found by the live fuzzer).
    uint64_t length = type == '1' ? 1 : kind;
    if (command == 'Z' && (trap_path(address) || trap_path(address + length - 1)))
        return kErrRefused;
    HwKind hw = type == '1' ? HwKind::Exec : type == '2' ? HwKind::Write : HwKind::Access;
    return change_hardware(hw, address, length, command);
}

bool GdbStub::trap_path(uint64_t address)
{
    Result<uint8_t*> alias = m_target->code_alias(address);
    return !alias.ok() && alias.error() == Error::Busy;
}

// Recorded only: the int3 goes in when the kernel resumes (packets are
// handled while stopped, when every breakpoint is lifted).
const char* GdbStub::insert_software(uint64_t address)
{
    SwBreakpoint* free_entry = nullptr;
    for (SwBreakpoint& bp : m_software) {
        if (bp.used && bp.address == address)
            return kOk;  // gdb may insert twice
        if (!bp.used && free_entry == nullptr)
            free_entry = &bp;
    }
    if (free_entry == nullptr)
        return kErrNoSpace;
    Result<uint8_t*> alias = m_target->code_alias(address);
    if (!alias.ok())
        return alias.error() == Error::Busy ? kErrRefused : kErrFault;
    *free_entry = { address, alias.value(), *alias.value(), true };
    return kOk;
}

const char* GdbStub::remove_software(uint64_t address)
{
    return forget_breakpoint(address) ? kOk : kErrMalformed;
}

EXO_NOBREAK bool GdbStub::forget_breakpoint(uint64_t address)
{
    for (SwBreakpoint& bp : m_software) {
        if (bp.used && bp.address == address) {
            bp.used = false;
            return true;
        }
    }
    return false;
}

// Plain stores through each breakpoint's alias: no call that a breakpoint
// could sit in. Volatile, so none is dropped as a dead store.
EXO_NOBREAK void GdbStub::lift_breakpoints()
{
    for (SwBreakpoint& bp : m_software) {
        if (bp.used)
            m_target->store_code(bp.alias, bp.saved);
    }
}

// Each byte is saved again here, not only at Z0: gdb may have written
// there since (M or X), and the next lift must put that back.
EXO_NOBREAK void GdbStub::plant_breakpoints(uint64_t except)
{
    for (SwBreakpoint& bp : m_software) {
        if (!bp.used)
            continue;
        bp.saved = *bp.alias;  // gdb may have written there while stopped (M/X)
        if (bp.address != except)
            m_target->store_code(bp.alias, kInt3);
    }
}

// A range gdb asks for becomes naturally aligned pieces of 8, 4, 2 or 1
// bytes, one debug register each (SDM 18.2.5), as QEMU's stub allows: up
// to 32 bytes over the four. The limits are told apart by the error:
// E22 for a length no four registers can cover, E28 when too few are free.
const char* GdbStub::change_hardware(HwKind kind, uint64_t address, uint64_t length, char command)
{
    if (length - 1 >= 8 * kDebugSlots || address + (length - 1) < address)  // 0 wraps past the limit
        return kErrInvalid;
    // Inserting what is there already replaces it (gdb may insert twice).
    bool found = release_hardware(kind, address, length);
    if (command == 'z') {
        load_debug_registers();
        return found ? kOk : kErrMalformed;
    }
    uint64_t at = address;
    uint64_t end = address + length;
    for (HwSlot& slot : m_hardware) {
        if (slot.kind != HwKind::Free || at == end)
            continue;
        uint64_t size = 8;
        while ((at & (size - 1)) != 0 || at + size > end)
            size >>= 1;
        slot = { at, address, static_cast<uint8_t>(size), static_cast<uint8_t>(length), kind };
        at += size;
    }
    bool fits = at == end;
    if (!fits)
        release_hardware(kind, address, length);
    load_debug_registers();
    return fits ? kOk : kErrNoSpace;
}

// Frees every debug register holding a piece of that range; whether any did.
// Out of line: change_hardware calls it twice.
[[gnu::noinline]] bool GdbStub::release_hardware(HwKind kind, uint64_t address, uint64_t length)
{
    bool found = false;
    for (HwSlot& slot : m_hardware) {
        if (slot.kind == kind && slot.watch == address && slot.watch_length == length) {
            slot.kind = HwKind::Free;
            found = true;
        }
    }
    return found;
}

// noipa: not specialised on the kernel's global stub (short register-relative
// field accesses instead of RIP-relative ones).
__attribute__((noipa)) void GdbStub::load_debug_registers()
{
    DebugRegisters regs;
    for (size_t i = 0; i < kDebugSlots; ++i) {
        const HwSlot& slot = m_hardware[i];
        if (slot.kind == HwKind::Free)
            continue;
        uint64_t rw = kDr7ReadWrite[static_cast<size_t>(slot.kind)];
        uint64_t len = kDr7Length[slot.length];
        regs.address[i] = slot.address;
        regs.dr7 |= kDr7Global0 << (2 * i) | kDr7GlobalExact;
        regs.dr7 |= (rw | len << kDr7LenShift) << (kDr7ControlShift + 4 * i);
    }
    m_target->set_debug_registers(regs);
}

// Stopped, so the int3 bytes are out of memory already.
void GdbStub::remove_all_breakpoints()
{
    for (SwBreakpoint& bp : m_software)
        bp.used = false;
    for (HwSlot& slot : m_hardware)
        slot.kind = HwKind::Free;
    load_debug_registers();
}

// Annexes are part of the names: any other qXfer is E00, the qXfer error
// for an object or annex we do not have. gdb lists threads with
// qXfer:threads:read (names and states); qfThreadInfo (every id in one
// packet, qsThreadInfo then ends the list) stays for clients without it. Other queries get the empty reply: qOffsets (nothing is relocated),
// qSymbol (nothing looked up), qC (stop replies name the thread),
// qThreadExtraInfo (the XML has it).
const char* GdbStub::query(Cursor& c)
{
    int which = c.match("Supported\0Xfer:features:read:target.xml:\0Xfer:threads:read::\0Xfer:\0"
                        "Rcmd,\0Attached\0fThreadInfo\0sThreadInfo\0CRC:\0Search:memory:\0");
    if (which == 0)
        return kSupported;  // whatever gdb offers, this is what we do
    if (which == 1 || which == 2)
        return read_xfer(c, which == 2);
    if (which == 3)
        return "E00";
    if (which == 4)
        return monitor(c);
    if (which == 5)
        return "1";  // the kernel was there before gdb
    if (which >= 8)
        return scan_memory(c, which == 9);
    if (which == 7)
        return "l";
    if (which < 0)
        return "";
    // qfThreadInfo: every id in one packet (up to 64 of 1-3 digits).
    m_codec.put('m');
    for (size_t i = 0;; ++i) {
        Result<ThreadId> thread = m_target->thread_at(i);
        if (!thread.ok())
            break;
        if (i)
            m_codec.put(',');
        m_codec.put_number(thread.value());
    }
    m_codec.send_reply();
    return nullptr;
}

// qCRC:addr,length -> C<crc32>: gdb's compare-sections checks the running
// kernel against the ELF with it, at the sections' load addresses
// (breakpoints are lifted while stopped, so text matches).
// qSearch:memory:addr;length;pattern -> 0, or 1,<addr> of the first match:
// gdb's find. Both read memory a window at a time into the reply buffer's
// free end (past room for their own reply); an unreadable window (an
// unmapped page) is E14, as gdb's own search stops there too, unless a
// match comes before it. Each search window starts at the first start the
// last one could not try, so a match across two windows is found.
const char* GdbStub::scan_memory(Cursor& c, bool search)
{
    uint64_t address = 0;
    uint64_t length = 0;
    if (!c.number(address) || !c.eat(search ? ';' : ',') || !c.number(length))
        return kErrMalformed;
    // A pattern is binary (the codec undid its escapes): all after the ';'.
    uint8_t* pattern = reinterpret_cast<uint8_t*>(c.pos() + 1);
    size_t size = c.left() - 1;
    if (search ? !c.eat(';') || size == 0 : !c.at_end())
        return kErrMalformed;
    if (!search)
        address = m_target->link_address(address);
    // The packet buffer is memory a search may cover: keep the pattern
    // there inverted, so its only copy is never reported as a match.
    for (size_t k = 0; search && k < size; ++k)
        pattern[k] = static_cast<uint8_t>(~pattern[k]);
    uint8_t* window = reinterpret_cast<uint8_t*>(m_codec.reply_end() + kScanReplyRoom);
    uint32_t sum = 0xFFFFFFFF;
    while (length != 0) {
        size_t want = length < kScanWindow ? static_cast<size_t>(length) : kScanWindow;
        size_t got = m_target->read_memory(address, window, want).value_or(0);
        // A match before an unreadable page still counts.
        for (size_t i = 0; search && i + size <= got; ++i) {
            size_t k = 0;
            while (k < size && static_cast<uint8_t>(~window[i + k]) == pattern[k])
                ++k;
            if (k == size) {
                m_codec.put("1,");
                m_codec.put_number(address + i);
                m_codec.send_reply();
                return nullptr;
            }
        }
        if (got != want)
            return kErrFault;
        if (!search)
            sum = crc32_gdb(sum, window, want);
        else if (want == length)
            break;
        else
            want -= size - 1;  // starts from here on need bytes past this window
        address += want;
        length -= want;
    }
    if (search)
        return "0";
    m_codec.put('C');
    m_codec.put_number(sum);
    m_codec.send_reply();
    return nullptr;
}

// qXfer:features:read:target.xml:offset,length and qXfer:threads:read::...
// -> m<data> (more) or l<data> (last). Each read generates the document
// again and keeps the window asked for.
const char* GdbStub::read_xfer(Cursor& c, bool threads)
{
    uint64_t offset = 0;
    uint64_t length = 0;
    if (!c.pair(offset, length) || !c.at_end())
        return "E00";  // the qXfer error for a bad request
    // One pass: the data after an 'm', which becomes 'l' once the length
    // says nothing is left.
    char* kind = m_codec.reply_end();
    m_codec.put('m');
    size_t count = length < kRspPacketSize - 1 ? static_cast<size_t>(length) : kRspPacketSize - 1;
    size_t total = emit_document(threads, static_cast<size_t>(offset), count);
    if (offset >= total || total - offset <= count)
        *kind = 'l';
    m_codec.send_reply();
    return nullptr;
}

// Characters [offset, offset + count) of one document into the reply (none
// where that wraps); its length. The thread list: <threads><thread id=.. core=.. name=..>extra
// info</thread>...</threads> (GDB manual, "Thread List Format"). One CPU,
// so every core is 0. Names and descriptions are the kernel's own words,
// with no XML markup characters in them.
size_t GdbStub::emit_document(bool threads, size_t offset, size_t count)
{
    XmlWindow w { 0, offset, offset + count, [](void* codec, char ch) { static_cast<RspCodec*>(codec)->put(ch); },
        &m_codec };
    if (!threads) {
        emit_target_xml(w);
        return w.pos;
    }
    w.text("<threads>");
    for (size_t i = 0;; ++i) {
        Result<ThreadId> thread = m_target->thread_at(i);
        if (!thread.ok())
            break;
        char text[kThreadDescription];
        w.fill("<thread id=\"\3\" core=\"0\" name=\"\1\">", m_target->thread_name(thread.value()), thread.value());
        m_target->thread_description(thread.value(), text, sizeof(text));
        w.fill("\1</thread>", text, 0);
    }
    w.text("</threads>");
    return w.pos;
}

// qRcmd,<hex command>: output streams as O<hex> packets, then OK.
const char* GdbStub::monitor(Cursor& c)
{
    char* command = c.pos();
    size_t length = 0;
    if (!c.decode_hex(length))
        return kErrMalformed;
    command[length] = '\0';
    m_target->run_monitor(command, length, &GdbStub::console_write, this);
    if (m_codec.reply_length() != 0)
        m_codec.send_reply();
    return kOk;
}

void GdbStub::console_write(void* ctx, const char* data, size_t length)
{
    RspCodec& codec = static_cast<GdbStub*>(ctx)->m_codec;
    for (size_t i = 0; i < length; ++i) {
        if (codec.reply_length() == 0)
            codec.put('O');
        codec.put_hex_byte(static_cast<uint8_t>(data[i]));
        if (codec.reply_room() < 2) {
            codec.send_reply();
            codec.begin_reply();
        }
    }
}

// Hg<id> picks the thread for register access, Hc<id> the one c/s resume.
const char* GdbStub::set_thread(Cursor& c)
{
    char which = c.next();
    ThreadId thread = 0;
    if ((which != 'g' && which != 'c') || !c.thread(thread) || !c.at_end()
        || (thread != 0 && !m_target->thread_alive(thread)))
        return kErrMalformed;
    if (which == 'g')
        m_general_thread = thread != 0 ? thread : m_stop_thread;
    else
        m_continue_thread = thread;
    return kOk;
}

}  // namespace exo
