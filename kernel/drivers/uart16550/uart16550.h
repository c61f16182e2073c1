// 16550A UART (National Semiconductor PC16550D datasheet, "Register
// Description"). Pure driver logic over a PortIo; the kernel instantiates it
// with X86PortIo for COM1, host tests with a scripted fake.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/io.h"
#include "kernel/lib/result.h"

namespace exo {

namespace uart {
// Register offsets from the base port.
constexpr uint16_t kData = 0;        // RBR (read) / THR (write); DLL when DLAB=1
constexpr uint16_t kIntEnable = 1;   // IER; DLM when DLAB=1
constexpr uint16_t kFifoControl = 2; // FCR (write) / IIR (read)
constexpr uint16_t kLineControl = 3; // LCR
constexpr uint16_t kModemControl = 4;// MCR
constexpr uint16_t kLineStatus = 5;  // LSR
constexpr uint16_t kScratch = 7;     // SCR

constexpr uint8_t kLcrDlab = 0x80;          // divisor latch access
constexpr uint8_t kLcr8N1 = 0x03;           // 8 data bits, no parity, 1 stop
constexpr uint8_t kMcrDtrRtsOut2 = 0x0B;    // OUT2 gates the IRQ line on PCs
constexpr uint8_t kFcrEnableTrigger14 = 0xC1; // FIFOs on, receive interrupt at 14 bytes (or timeout)
constexpr uint8_t kTxFifoDepth = 16;          // bytes that fit once THRE says the FIFO is empty
constexpr uint8_t kIerRxAvailable = 0x01;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kScratchProbe = 0x5A;

constexpr uint32_t kBaseClockHz = 115200;  // 1.8432 MHz / 16
// Polls of LSR before a byte is dropped: output must never hang on a stuck
// UART, but an emulated one on a loaded host can be slow for a while, so the
// first wait is long. After a drop the UART counts as stuck and each byte
// waits only kTxStuckSpinLimit polls until one gets through again.
constexpr uint32_t kTxSpinLimit = 2000000;
constexpr uint32_t kTxStuckSpinLimit = 1000;
}  // namespace uart

template<PortIo Io>
class Uart16550 {
public:
    constexpr Uart16550(Io io, uint16_t base) : m_io(io), m_base(base) {}

    // Probe through the scratch register, then program 8N1 at `baud` with
    // FIFOs on. Returns Absent when nothing answers at the base port.
    Result<void> init(uint32_t baud)
    {
        if (baud == 0 || baud > uart::kBaseClockHz)
            return Error::InvalidArgument;
        write(uart::kScratch, uart::kScratchProbe);
        if (read(uart::kScratch) != uart::kScratchProbe)
            return Error::Absent;
        uint16_t divisor = static_cast<uint16_t>(uart::kBaseClockHz / baud);
        write(uart::kIntEnable, 0);
        write(uart::kLineControl, uart::kLcrDlab);
        write(uart::kData, static_cast<uint8_t>(divisor & 0xFF));
        write(uart::kIntEnable, static_cast<uint8_t>(divisor >> 8));
        write(uart::kLineControl, uart::kLcr8N1);
        // FIFOs: one interrupt per burst of input and one status read per 16
        // output bytes, instead of one host event-loop trip per input byte
        // (~70 us each under QEMU, with long tails). But turning them on
        // resets the receive side (16550D datasheet, FCR bit 0), and a sender
        // refills the holding register within instructions of each read, so
        // input that is already waiting would lose a byte. Only switch them
        // on when nothing is waiting; otherwise run without (lossless, slower).
        if (!(read(uart::kLineStatus) & uart::kLsrDataReady)) {
            write(uart::kFifoControl, uart::kFcrEnableTrigger14);
            m_tx_burst = uart::kTxFifoDepth;
        }
        write(uart::kModemControl, uart::kMcrDtrRtsOut2);
        m_ready = true;
        return {};
    }

    bool ready() const { return m_ready; }

    // Returns false when the transmitter stayed busy past the spin limit.
    bool put(uint8_t byte)
    {
        if (m_tx_room == 0 && !wait_tx_empty()) {
            ++m_dropped;
            return false;
        }
        write(uart::kData, byte);
        --m_tx_room;
        return true;
    }

    void write_bytes(const char* s, size_t n)
    {
        for (size_t i = 0; i < n; ++i)
            put(static_cast<uint8_t>(s[i]));
    }

    // A byte waits in the receiver (reading the status does not take it).
    bool data_ready() { return read(uart::kLineStatus) & uart::kLsrDataReady; }

    // Non-blocking receive.
    Result<uint8_t> try_get()
    {
        if (!(read(uart::kLineStatus) & uart::kLsrDataReady))
            return Error::NotFound;
        return read(uart::kData);
    }

    void enable_rx_interrupt() { write(uart::kIntEnable, uart::kIerRxAvailable); }


    uint32_t dropped() const { return m_dropped; }
    uint16_t base() const { return m_base; }

private:
    bool wait_tx_empty()
    {
        uint32_t limit = m_stuck ? uart::kTxStuckSpinLimit : uart::kTxSpinLimit;
        for (uint32_t i = 0; i < limit; ++i) {
            if (read(uart::kLineStatus) & uart::kLsrThrEmpty) {
                m_stuck = false;
                m_tx_room = m_tx_burst;
                return true;
            }
        }
        m_stuck = true;
        return false;
    }

    uint8_t read(uint16_t reg) { return m_io.read8(static_cast<uint16_t>(m_base + reg)); }
    void write(uint16_t reg, uint8_t v) { m_io.write8(static_cast<uint16_t>(m_base + reg), v); }

    Io m_io;
    uint16_t m_base;
    bool m_ready { false };
    bool m_stuck { false };
    uint8_t m_tx_burst { 1 };  // bytes per THRE: 16 with the FIFOs on
    uint8_t m_tx_room { 0 };
    uint32_t m_dropped { 0 };
};

}  // namespace exo
