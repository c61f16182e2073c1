// A scripted PortIo for driver tests: every access must match the next
// expected one (port, direction, value); reads return the scripted value.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "kernel/lib/io.h"

namespace exo::test {

struct PortAccess {
    enum class Dir { In, Out } dir;
    uint16_t port;
    uint32_t value;
};

inline PortAccess in(uint16_t port, uint32_t value) { return { PortAccess::Dir::In, port, value }; }
inline PortAccess out(uint16_t port, uint32_t value) { return { PortAccess::Dir::Out, port, value }; }

// Shared state so the Io value itself stays cheap to copy (drivers hold it by value).
struct IoScript {
    std::deque<PortAccess> expected;
    // Ports answered without a script entry (e.g. status registers polled in loops).
    std::map<uint16_t, uint32_t> fixed_reads;
    std::vector<PortAccess> seen;
    bool strict = true;
};

class FakeIo {
public:
    explicit FakeIo(IoScript& script) : m_script(&script) {}

    uint8_t read8(uint16_t port) { return static_cast<uint8_t>(read(port)); }
    uint16_t read16(uint16_t port) { return static_cast<uint16_t>(read(port)); }
    uint32_t read32(uint16_t port) { return read(port); }
    void write8(uint16_t port, uint8_t v) { write(port, v); }
    void write16(uint16_t port, uint16_t v) { write(port, v); }
    void write32(uint16_t port, uint32_t v) { write(port, v); }

private:
    uint32_t read(uint16_t port)
    {
        if (auto it = m_script->fixed_reads.find(port); it != m_script->fixed_reads.end()) {
            m_script->seen.push_back(in(port, it->second));
            return it->second;
        }
        if (m_script->expected.empty()) {
            ADD_FAILURE() << "unexpected read of port 0x" << std::hex << port;
            return 0;
        }
        PortAccess next = m_script->expected.front();
        m_script->expected.pop_front();
        EXPECT_EQ(next.dir, PortAccess::Dir::In) << "expected a write, got a read of 0x" << std::hex << port;
        EXPECT_EQ(next.port, port);
        m_script->seen.push_back(in(port, next.value));
        return next.value;
    }

    void write(uint16_t port, uint32_t v)
    {
        m_script->seen.push_back(out(port, v));
        if (!m_script->strict)
            return;
        if (m_script->expected.empty()) {
            ADD_FAILURE() << "unexpected write 0x" << std::hex << v << " to port 0x" << port;
            return;
        }
        PortAccess next = m_script->expected.front();
        m_script->expected.pop_front();
        EXPECT_EQ(next.dir, PortAccess::Dir::Out) << "expected a read, got a write to 0x" << std::hex << port;
        EXPECT_EQ(next.port, port);
        EXPECT_EQ(next.value, v) << "port 0x" << std::hex << port;
    }

    IoScript* m_script;
};

static_assert(PortIo<FakeIo>);

}  // namespace exo::test
