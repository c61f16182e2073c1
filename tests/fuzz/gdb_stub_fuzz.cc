// The GDB stub's packet handling over the unit tests' fake target
// (tests/unit/fake_target.h), driven as the kernel drives it: bytes from gdb
// while the kernel runs or is stopped, stops (Ctrl-C, breakpoints, steps,
// faults) while it runs, breakpoints planted on every resume.
// Checked: every reply is a well-formed frame (the fake's Wire); the stub's
// running state follows the actions it returns; while running, memory
// differs from what it was at the resume only by int3 bytes of planted
// breakpoints (never at the address a step starts from), and the stop puts
// every byte back; an int3 hit rewinds rip to the breakpoint; DR7 only
// enables naturally aligned slots of 1, 2, 4 or 8 bytes; `m` replies are the
// memory's bytes; `g` replies are one whole register image; detach leaves no
// breakpoint and DR7 clear. The fake itself traps on an x87 register access
// or a monitor command without its NUL (through the gtest shim).
// Input: a start flag, then operations: a packet (length, body; framed and
// escaped here), raw bytes, a stop event, Ctrl-C, acks, monitor output, a
// breakpoint hit inside the debugger.
#include <stdint.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "gdbstub/stub.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/unit/fake_target.h"

using namespace exo;
using exo::fuzz::FuzzInput;
using exo::test::FakeTarget;
using exo::test::kFakeMemoryBase;
using exo::test::Wire;

namespace exo {
EXO_BIND_GDB_TARGET(test::FakeTarget)
}  // namespace exo

namespace {

constexpr uint8_t kInt3 = 0xCC;
constexpr uint8_t kVectorDebug = 1;
constexpr uint8_t kVectorBreakpoint = 3;
constexpr uint64_t kDr6SingleStep = 1u << 14;
constexpr size_t kMaxBody = exo::kRspPacketSize + 0x40;  // a little past the limit too

struct Kernel {
    FakeTarget target;
    Wire wire;
    GdbStub stub { target, &Wire::write, &wire };
    bool running = true;
    std::vector<uint8_t> at_resume;  // memory when the kernel last resumed
    uint64_t step_from = 0;          // the address a step starts from (0: none)
    ThreadId current = 1;            // the thread on the CPU
    uint64_t write_from = 0;         // what the packet being fed may write (M, X)
    uint64_t write_length = 0;

    void check_debug_registers()
    {
        uint64_t dr7 = target.debug.dr7;
        for (size_t i = 0; i < kDebugSlots; ++i) {
            if ((dr7 >> (2 * i + 1) & 1) == 0)
                continue;
            unsigned control = dr7 >> (16 + 4 * i) & 0xF;
            unsigned rw = control & 3, len = control >> 2;
            FUZZ_CHECK(rw != 2);  // I/O breakpoints are never asked for
            uint64_t bytes = len == 0 ? 1 : len == 1 ? 2 : len == 3 ? 4 : 8;
            FUZZ_CHECK(rw != 0 || bytes == 1);  // an instruction breakpoint is one byte
            FUZZ_CHECK(target.debug.address[i] % bytes == 0);
        }
    }

    void check_memory()
    {
        if (!running)
            return;
        size_t planted = 0;
        for (size_t i = 0; i < target.memory.size(); ++i) {
            if (target.memory[i] == at_resume[i])
                continue;
            FUZZ_CHECK(target.memory[i] == kInt3);
            FUZZ_CHECK(kFakeMemoryBase + i != step_from);
            ++planted;
        }
        FUZZ_CHECK(planted <= stub.breakpoint_count());
    }

    void resume(GdbAction action)
    {
        FUZZ_CHECK(stub.running());
        if (action == GdbAction::Detach)
            FUZZ_CHECK(stub.breakpoint_count() == 0 && target.debug.dr7 == 0);
        step_from = 0;
        if (action == GdbAction::Step) {
            ThreadId t = stub.resume_thread();
            if (target.regs.count(t) != 0)
                step_from = target.reg(t, GdbRegister::Rip);
        }
        at_resume = target.memory;
        stub.plant_breakpoints(step_from);
        running = true;
        if (action == GdbAction::Step)
            stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, stub.resume_thread() });
    }

    void stop(const GdbStopEvent& event)
    {
        GdbAction action = stub.notify_stop(event);
        // Every int3 lifted: memory is as it was at the resume, but where the
        // packet that stopped the kernel (answered by notify_stop) writes.
        for (size_t i = 0; i < target.memory.size(); ++i) {
            uint64_t a = kFakeMemoryBase + i;
            FUZZ_CHECK(target.memory[i] == at_resume[i] || (a >= write_from && a - write_from < write_length));
        }
        running = false;
        after(action);
    }

    // What the kernel does with an action while stopped.
    void after(GdbAction action)
    {
        FUZZ_CHECK(action != GdbAction::Stop);
        if (action == GdbAction::None)
            FUZZ_CHECK(!stub.running());
        else
            resume(action);
    }

    void feed(uint8_t byte)
    {
        bool was_running = running;
        GdbAction action = stub.feed(byte);
        if (was_running) {
            FUZZ_CHECK(action == GdbAction::None || action == GdbAction::Stop);
            if (action == GdbAction::Stop)
                stop({ GdbStopCause::Requested, 0, 0, current });
        } else {
            after(action);
        }
    }

    // A breakpoint hit: rip just past one of the planted int3 bytes.
    void hit(ThreadId thread, size_t pick)
    {
        std::vector<uint64_t> planted;
        for (size_t i = 0; i < target.memory.size(); ++i) {
            if (target.memory[i] != at_resume[i])
                planted.push_back(kFakeMemoryBase + i);
        }
        if (planted.empty() || target.regs.count(thread) == 0)
            return;
        uint64_t address = planted[pick % planted.size()];
        target.reg(thread, GdbRegister::Rip) = address + 1;
        stop({ GdbStopCause::Exception, kVectorBreakpoint, 0, thread });
        FUZZ_CHECK(target.reg(thread, GdbRegister::Rip) == address);
        FUZZ_CHECK(stub.stop_reason() == GdbStopReason::SwBreak);
    }
};

uint64_t parse_hex(const std::string& text, size_t& pos, bool& ok)
{
    size_t start = pos;
    uint64_t value = 0;
    while (pos < text.size() && isxdigit(static_cast<unsigned char>(text[pos])))
        value = value << 4 | static_cast<uint64_t>(strtoul(text.substr(pos++, 1).c_str(), nullptr, 16));
    ok = ok && pos != start && pos - start <= 16;
    return value;
}

// qSearch:memory:addr;length;pattern: a match is the first whole one in
// the range; "0" means the range was readable and holds none; E14 that
// part of it is not readable.
void check_search(Kernel& k, const std::string& body, const std::string& r)
{
    size_t pos = 15;  // past "qSearch:memory:"
    bool ok = true;
    uint64_t address = parse_hex(body, pos, ok);
    ok = ok && pos < body.size() && body[pos++] == ';';
    uint64_t length = parse_hex(body, pos, ok);
    ok = ok && pos < body.size() && body[pos++] == ';' && pos < body.size();
    if (!ok) {
        FUZZ_CHECK(r == "E01");
        return;
    }
    std::string pattern = body.substr(pos);
    auto readable = [&](uint64_t a, uint64_t n) {
        return a >= kFakeMemoryBase && a - kFakeMemoryBase <= k.target.memory.size()
            && n <= k.target.memory.size() - (a - kFakeMemoryBase);
    };
    auto match = [&](uint64_t a) {
        return readable(a, pattern.size())
            && memcmp(&k.target.byte_at(a), pattern.data(), pattern.size()) == 0;
    };
    if (r == "E14")
        return FUZZ_CHECK(!readable(address, length));
    uint64_t found = address + length;
    if (r != "0") {
        FUZZ_CHECK(r.size() > 2 && r[0] == '1' && r[1] == ',');
        size_t at = 2;
        found = parse_hex(r, at, ok);
        FUZZ_CHECK(ok && at == r.size() && length >= pattern.size() && found >= address
            && found - address <= length - pattern.size());
        FUZZ_CHECK(match(found));
    } else {
        FUZZ_CHECK(length == 0 || readable(address, length));
    }
    for (uint64_t a = address; a != found && found - a >= pattern.size(); ++a)
        FUZZ_CHECK(!match(a));
}

// Replies gdb can check without the stub's help: `m`, `g` and qSearch.
void check_reply(Kernel& k, const std::string& body, const std::vector<std::string>& replies)
{
    if (replies.size() != 1)
        return;
    const std::string& r = replies[0];
    if (body == "g") {
        FUZZ_CHECK(r.size() == 2 * kGdbRegisterBytes);
        return;
    }
    if (body.rfind("qSearch:memory:", 0) == 0) {
        check_search(k, body, r);
        return;
    }
    if (body.empty() || body[0] != 'm' || (r.size() == 3 && r[0] == 'E'))
        return;
    size_t pos = 1;
    bool ok = true;
    uint64_t address = parse_hex(body, pos, ok);
    ok = ok && pos < body.size() && body[pos++] == ',';
    uint64_t length = parse_hex(body, pos, ok);
    if (!ok || pos != body.size())
        return;
    FUZZ_CHECK(r.size() % 2 == 0 && r.size() / 2 <= length);
    std::string expected = exo::test::to_hex(std::string(r.size() / 2, '\0'));
    for (size_t i = 0; i < r.size() / 2; ++i) {
        uint64_t a = address + i;
        FUZZ_CHECK(a >= kFakeMemoryBase && a - kFakeMemoryBase < k.target.memory.size());
        char byte[3];
        snprintf(byte, sizeof byte, "%02x", k.target.byte_at(a));
        expected.replace(2 * i, 2, byte);
    }
    FUZZ_CHECK(r == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    Kernel k;
    k.at_resume = k.target.memory;
    if (in.flag())  // gdb=wait: stopped for gdb before it attaches
        k.stop({ GdbStopCause::Requested, 0, 0, 1 });

    while (!in.empty()) {
        uint8_t op = in.byte();
        switch (op % 8) {
        case 0:
        case 1:
        case 2: {  // a packet from gdb
            std::string body = in.text(in.take<uint16_t>() % kMaxBody);
            bool was_stopped = !k.running;
            size_t pos = 1;
            bool write = !body.empty() && (body[0] == 'M' || body[0] == 'X');
            k.write_from = write ? parse_hex(body, pos, write) : 0;
            write = write && pos < body.size() && body[pos++] == ',';
            k.write_length = write ? parse_hex(body, pos, write) : 0;
            for (char c : exo::test::rsp_frame(exo::test::rsp_escape(body)))
                k.feed(static_cast<uint8_t>(c));
            std::vector<std::string> replies;
            for (const std::string& item : k.wire.take()) {
                if (item[0] == '$')
                    replies.push_back(item.substr(1));
            }
            if (!k.running)  // whatever it did, gdb got an answer
                FUZZ_CHECK(!replies.empty());
            if (was_stopped && !k.running)
                check_reply(k, body, replies);
            k.write_from = k.write_length = 0;
            break;
        }
        case 3: {  // noise, partial packets, acks
            std::string raw = in.text(in.byte() % 16);
            for (char c : raw)
                k.feed(static_cast<uint8_t>(c));
            k.wire.take();
            break;
        }
        case 4: {  // the running kernel traps or faults
            GdbStopCause cause = static_cast<GdbStopCause>(in.byte() % 3);
            uint8_t vector = in.byte() % 20;
            uint64_t dr6 = in.byte() & 0xF;
            ThreadId thread = in.byte() % 5;
            if (k.running) {
                k.current = thread;
                k.stop({ cause, vector, dr6, k.current });
                k.wire.take();
            }
            break;
        }
        case 5: {  // an int3 the stub planted
            ThreadId thread = 1 + in.byte() % 3;
            uint16_t pick = in.take<uint16_t>();
            if (k.running) {
                k.current = thread;
                k.hit(k.current, pick);
                k.wire.take();
            }
            break;
        }
        case 6: {  // what `monitor` commands print
            size_t pieces = in.byte() % 3;
            k.target.monitor_output.assign(pieces, in.text(in.take<uint16_t>() % 0x1000));
            break;
        }
        case 7: {  // a breakpoint hit inside the debugger: lifted, forgotten, the rest replanted
            uint64_t address = kFakeMemoryBase + in.take<uint16_t>() % exo::test::kFakeMemorySize;
            if (k.running) {
                k.stub.lift_breakpoints();
                FUZZ_CHECK(k.target.memory == k.at_resume);
                (void)k.stub.forget_breakpoint(address);
                k.stub.plant_breakpoints(k.step_from);
            }
            break;
        }
        }
        k.check_memory();
        k.check_debug_registers();
        FUZZ_CHECK(k.stub.running() == k.running);
        FUZZ_CHECK(k.stub.breakpoint_count() <= kGdbMaxSwBreakpoints + kDebugSlots);
    }
    return 0;
}
