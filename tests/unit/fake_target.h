// A GdbTarget over host memory for the stub tests, plus an RSP wire helper
// that frames packets and checks and unframes replies independently of the
// codec under test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gdbstub/target.h"

namespace exo::test {

// `$body#cc` with the checksum computed here, not by the codec.
inline std::string rsp_frame(const std::string& body)
{
    unsigned sum = 0;
    for (unsigned char c : body)
        sum += c;
    char tail[4];
    snprintf(tail, sizeof(tail), "#%02x", sum & 0xFF);
    return "$" + body + tail;
}

// Escape binary data as gdb does: # $ } * become } and the byte ^ 0x20.
inline std::string rsp_escape(const std::string& data)
{
    std::string out;
    for (char c : data) {
        if (c == '#' || c == '$' || c == '}' || c == '*') {
            out += '}';
            out += static_cast<char>(c ^ 0x20);
        } else {
            out += c;
        }
    }
    return out;
}

inline std::string to_hex(const std::string& data)
{
    std::string out;
    char buf[3];
    for (unsigned char c : data) {
        snprintf(buf, sizeof(buf), "%02x", c);
        out += buf;
    }
    return out;
}

inline std::string from_hex(const std::string& hex)
{
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

// What the stub wrote: acks and framed packets, split apart and verified.
struct Wire {
    std::string bytes;

    static void write(void* ctx, const char* data, size_t length)
    {
        static_cast<Wire*>(ctx)->bytes.append(data, length);
    }

    // Splits `bytes` into acks ("+"/"-") and unescaped packet bodies,
    // failing the test on a bad checksum; clears what it consumed.
    std::vector<std::string> take()
    {
        std::vector<std::string> items;
        size_t i = 0;
        while (i < bytes.size()) {
            char c = bytes[i];
            if (c == '+' || c == '-') {
                items.emplace_back(1, c);
                ++i;
                continue;
            }
            EXPECT_EQ(c, '$') << "stray byte in output at " << i;
            size_t end = bytes.find('#', i);
            if (end == std::string::npos || end + 2 >= bytes.size()) {
                ADD_FAILURE() << "unterminated packet";
                break;
            }
            std::string raw = bytes.substr(i + 1, end - i - 1);
            unsigned sum = 0;
            for (unsigned char r : raw)
                sum += r;
            EXPECT_EQ(std::stoi(bytes.substr(end + 1, 2), nullptr, 16), static_cast<int>(sum & 0xFF))
                << "checksum of " << raw;
            std::string body;
            for (size_t k = 0; k < raw.size(); ++k) {
                EXPECT_NE(raw[k], '$');
                if (raw[k] == '}' && k + 1 < raw.size())
                    body += static_cast<char>(raw[++k] ^ 0x20);
                else
                    body += raw[k];
            }
            items.push_back("$" + body);
            i = end + 3;
        }
        bytes.clear();
        return items;
    }
};

constexpr uint64_t kFakeMemoryBase = 0xffffffff80100000;
constexpr size_t kFakeMemorySize = 0x3000;

class FakeTarget final : public GdbTarget {
public:
    FakeTarget() : memory(kFakeMemorySize)
    {
        for (size_t i = 0; i < memory.size(); ++i)
            memory[i] = static_cast<uint8_t>(i * 7 + 1);
        for (ThreadId t : threads) {
            auto& r = regs[t];
            for (size_t i = 0; i < kGdbRegisterCount; ++i)
                r[i] = 0x1111111111111111ull * (i % 15 + 1) + t;
            r[static_cast<size_t>(GdbRegister::Eflags)] = 0x246;
            r[static_cast<size_t>(GdbRegister::Cs)] = 0x08;
            r[static_cast<size_t>(GdbRegister::Rip)] = kFakeMemoryBase + 0x100 + t;
        }
    }

    uint64_t& reg(ThreadId t, GdbRegister r) { return regs[t][static_cast<size_t>(r)]; }
    uint8_t& byte_at(uint64_t address) { return memory.at(address - kFakeMemoryBase); }

    Result<uint64_t> read_register(ThreadId thread, GdbRegister reg)
    {
        EXPECT_FALSE(is_x87_register(reg));
        auto it = regs.find(thread);
        if (it == regs.end())
            return Error::NotFound;
        // A blocked thread only has its saved context (rbx, rbp, rsp, rip).
        if (thread == kBlockedThread && reg != GdbRegister::Rbx && reg != GdbRegister::Rbp
            && reg != GdbRegister::Rsp && reg != GdbRegister::Rip)
            return Error::NotFound;
        return it->second[static_cast<size_t>(reg)];
    }

    Result<void> write_register(ThreadId thread, GdbRegister reg, uint64_t value)
    {
        EXPECT_FALSE(is_x87_register(reg));
        auto it = regs.find(thread);
        if (it == regs.end() || (reg == GdbRegister::Cr0 && refuse_cr0))
            return Error::InvalidArgument;
        it->second[static_cast<size_t>(reg)] = value;
        ++register_writes;
        return {};
    }

    Result<size_t> read_memory(uint64_t address, uint8_t* out, size_t length)
    {
        if (address < kFakeMemoryBase || address >= kFakeMemoryBase + memory.size())
            return Error::NotMapped;
        size_t offset = address - kFakeMemoryBase;
        size_t n = std::min(length, memory.size() - offset);
        memcpy(out, memory.data() + offset, n);
        return n;
    }

    Result<size_t> write_memory(uint64_t address, const uint8_t* data, size_t length)
    {
        if (address < kFakeMemoryBase || address >= kFakeMemoryBase + memory.size())
            return Error::NotMapped;
        size_t offset = address - kFakeMemoryBase;
        size_t n = std::min(length, memory.size() - offset);
        memcpy(memory.data() + offset, data, n);
        ++memory_writes;
        return n;
    }

    // Breakpoint bytes go straight into the fake memory; [nobreak_begin,
    // nobreak_end) plays the debugger's own trap path.
    Result<uint8_t*> code_alias(uint64_t address)
    {
        if (address >= nobreak_begin && address < nobreak_end)
            return Error::Busy;
        if (address < kFakeMemoryBase || address >= kFakeMemoryBase + memory.size())
            return Error::NotMapped;
        return &memory[address - kFakeMemoryBase];
    }

    void store_code(uint8_t* alias, uint8_t value)
    {
        *alias = value;
        ++code_stores;
    }

    // The fake's "image" loads at 0x1000 below its link address.
    uint64_t link_address(uint64_t address) { return address >= 0x1000 && address < 0x4000 ? address - 0x1000 + kFakeMemoryBase : address; }

    void set_debug_registers(const DebugRegisters& r)
    {
        debug = r;
        ++debug_loads;
    }

    Result<ThreadId> thread_at(size_t index)
    {
        if (index >= threads.size())
            return Error::NotFound;
        return threads[index];
    }

    bool thread_alive(ThreadId thread)
    {
        return std::find(threads.begin(), threads.end(), thread) != threads.end();
    }

    const char* thread_name(ThreadId thread) { return thread == 1 ? "idle" : "worker"; }

    // Like the kernel's format_to: cut to fit, always NUL-terminated.
    size_t thread_description(ThreadId thread, char* out, size_t capacity)
    {
        EXPECT_TRUE(capacity > 0);
        std::string text = thread == 1 ? std::string("running") : "blocked " + std::to_string(thread);
        if (thread == 2)
            text = std::string(200, 'z');  // longer than the stub's buffer
        size_t n = std::min(text.size(), capacity - 1);
        memcpy(out, text.data(), n);
        out[n] = '\0';
        return n;
    }

    void run_monitor(const char* command, size_t length, RspWriteFn out, void* ctx)
    {
        EXPECT_EQ(command[length], '\0');
        monitor_commands.emplace_back(command, length);
        for (const std::string& piece : monitor_output)
            out(ctx, piece.data(), piece.size());
    }

    static constexpr ThreadId kBlockedThread = 3;

    std::vector<ThreadId> threads { 1, 2, 3 };
    std::map<ThreadId, std::array<uint64_t, kGdbRegisterCount>> regs;
    std::vector<uint8_t> memory;
    DebugRegisters debug;
    int debug_loads = 0;
    int register_writes = 0;
    int memory_writes = 0;
    int code_stores = 0;  // breakpoint bytes planted or lifted through store_code
    bool refuse_cr0 = false;
    uint64_t nobreak_begin = kFakeMemoryBase + 0x2000;
    uint64_t nobreak_end = kFakeMemoryBase + 0x2100;
    std::vector<std::string> monitor_commands;
    std::vector<std::string> monitor_output;
};

}  // namespace exo::test
