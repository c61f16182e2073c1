// Legacy 8259A interrupt controller pair (Intel 8259A datasheet, "ICW/OCW").
// Remapped so IRQ 0-15 land on vectors base..base+15, clear of exceptions.
#pragma once

#include <stdint.h>

#include "kernel/lib/io.h"

namespace exo {

namespace pic {
constexpr uint16_t kMasterCommand = 0x20;
constexpr uint16_t kMasterData = 0x21;
constexpr uint16_t kSlaveCommand = 0xA0;
constexpr uint16_t kSlaveData = 0xA1;

constexpr uint8_t kIcw1Init = 0x11;         // ICW1: init, cascade, ICW4 needed
constexpr uint8_t kIcw3MasterHasSlaveOn2 = 0x04;
constexpr uint8_t kIcw3SlaveId = 0x02;
constexpr uint8_t kIcw4Mode8086 = 0x01;
constexpr uint8_t kOcw2Eoi = 0x20;          // non-specific end of interrupt
constexpr uint8_t kOcw3ReadIsr = 0x0B;
constexpr uint8_t kOcw3ReadIrr = 0x0A;
constexpr uint8_t kCascadeIrq = 2;
}  // namespace pic

template<PortIo Io>
class Pic8259 {
public:
    constexpr explicit Pic8259(Io io) : m_io(io) {}

    // Reprograms both chips with every line masked except the cascade.
    void init(uint8_t vector_base)
    {
        m_io.write8(pic::kMasterCommand, pic::kIcw1Init);
        m_io.write8(pic::kSlaveCommand, pic::kIcw1Init);
        m_io.write8(pic::kMasterData, vector_base);
        m_io.write8(pic::kSlaveData, static_cast<uint8_t>(vector_base + 8));
        m_io.write8(pic::kMasterData, pic::kIcw3MasterHasSlaveOn2);
        m_io.write8(pic::kSlaveData, pic::kIcw3SlaveId);
        m_io.write8(pic::kMasterData, pic::kIcw4Mode8086);
        m_io.write8(pic::kSlaveData, pic::kIcw4Mode8086);
        m_mask = static_cast<uint16_t>(0xFFFF & ~(1u << pic::kCascadeIrq));
        write_mask();
    }

    void unmask(uint8_t irq)
    {
        m_mask = static_cast<uint16_t>(m_mask & ~(1u << irq));
        write_mask();
    }

    void mask(uint8_t irq)
    {
        m_mask = static_cast<uint16_t>(m_mask | (1u << irq));
        write_mask();
    }

    void eoi(uint8_t irq)
    {
        if (irq >= 8)
            m_io.write8(pic::kSlaveCommand, pic::kOcw2Eoi);
        m_io.write8(pic::kMasterCommand, pic::kOcw2Eoi);
    }

    // IRQ 7/15 fire spuriously when a line drops before the CPU acks it; the
    // in-service register tells. A spurious IRQ 15 still needs the master's EOI.
    bool is_spurious(uint8_t irq)
    {
        if (irq == 7) {
            m_io.write8(pic::kMasterCommand, pic::kOcw3ReadIsr);
            return !(m_io.read8(pic::kMasterCommand) & 0x80);
        }
        if (irq == 15) {
            m_io.write8(pic::kSlaveCommand, pic::kOcw3ReadIsr);
            if (!(m_io.read8(pic::kSlaveCommand) & 0x80)) {
                m_io.write8(pic::kMasterCommand, pic::kOcw2Eoi);
                return true;
            }
        }
        return false;
    }

    // Interrupt request register: lines raised but not yet serviced.
    uint16_t pending()
    {
        m_io.write8(pic::kMasterCommand, pic::kOcw3ReadIrr);
        m_io.write8(pic::kSlaveCommand, pic::kOcw3ReadIrr);
        return static_cast<uint16_t>(m_io.read8(pic::kMasterCommand) | (m_io.read8(pic::kSlaveCommand) << 8));
    }

    uint16_t mask_bits() const { return m_mask; }

private:
    void write_mask()
    {
        m_io.write8(pic::kMasterData, static_cast<uint8_t>(m_mask & 0xFF));
        m_io.write8(pic::kSlaveData, static_cast<uint8_t>(m_mask >> 8));
    }

    Io m_io;
    uint16_t m_mask { 0xFFFF };
};

}  // namespace exo
