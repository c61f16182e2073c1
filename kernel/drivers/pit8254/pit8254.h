// 8254 programmable interval timer (Intel 82C54 datasheet). Channel 0 drives
// IRQ 0 periodically; the kernel also reads its counter to measure the TSC
// against a known clock without busy-waiting.
#pragma once

#include <stdint.h>

#include "kernel/lib/io.h"

namespace exo {

namespace pit {
constexpr uint32_t kInputHz = 1193182;
constexpr uint16_t kChannel0 = 0x40;
constexpr uint16_t kCommand = 0x43;
// Command byte: channel 0, lobyte/hibyte access, mode 2 (rate generator), binary.
constexpr uint8_t kCh0RateGenerator = 0x34;
// Counter latch command for channel 0.
constexpr uint8_t kCh0Latch = 0x00;
}  // namespace pit

template<PortIo Io>
class Pit8254 {
public:
    constexpr explicit Pit8254(Io io) : m_io(io) {}

    // Returns the reload value actually programmed (the period in PIT ticks).
    uint16_t start_periodic(uint32_t hz)
    {
        uint32_t divisor = hz ? pit::kInputHz / hz : 0;
        if (divisor == 0 || divisor > 0xFFFF)
            divisor = 0xFFFF;
        m_io.write8(pit::kCommand, pit::kCh0RateGenerator);
        m_io.write8(pit::kChannel0, static_cast<uint8_t>(divisor & 0xFF));
        m_io.write8(pit::kChannel0, static_cast<uint8_t>(divisor >> 8));
        m_reload = static_cast<uint16_t>(divisor);
        return m_reload;
    }

    // Current down-counter value of channel 0 (latched so both bytes agree).
    uint16_t read_counter()
    {
        m_io.write8(pit::kCommand, pit::kCh0Latch);
        uint8_t lo = m_io.read8(pit::kChannel0);
        uint8_t hi = m_io.read8(pit::kChannel0);
        return static_cast<uint16_t>(lo | (hi << 8));
    }

    uint16_t reload() const { return m_reload; }

private:
    Io m_io;
    uint16_t m_reload { 0 };
};

}  // namespace exo
