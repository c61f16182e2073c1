// Intel 8042 PS/2 controller, first (keyboard) port only. Pure driver logic
// over a PortIo; register and command names follow the IBM PC/AT Technical
// Reference, "Keyboard Controller". Every wait is a bounded poll of the
// status register, so a dead or missing controller can never hang boot.
#pragma once

#include <stdint.h>

#include "kernel/lib/io.h"
#include "kernel/lib/result.h"

namespace exo {

namespace i8042 {
constexpr uint16_t kData = 0x60;    // read: output buffer; write: input buffer (data)
constexpr uint16_t kStatus = 0x64;  // read: status register; write: command

constexpr uint8_t kStatusOutputFull = 0x01;  // a byte waits at kData for us
constexpr uint8_t kStatusInputFull = 0x02;   // controller has not taken our last byte
// A floating ISA bus reads all ones: no controller (QEMU microvm, some laptops).
constexpr uint8_t kStatusNothing = 0xFF;

constexpr uint8_t kCmdReadConfig = 0x20;
constexpr uint8_t kCmdWriteConfig = 0x60;
constexpr uint8_t kCmdDisablePort2 = 0xA7;
constexpr uint8_t kCmdSelfTest = 0xAA;
constexpr uint8_t kCmdTestPort1 = 0xAB;
constexpr uint8_t kCmdDisablePort1 = 0xAD;
constexpr uint8_t kCmdEnablePort1 = 0xAE;

// Controller configuration byte ("command byte").
constexpr uint8_t kConfigIrq1 = 0x01;          // IRQ 1 on port 1 output
constexpr uint8_t kConfigIrq12 = 0x02;         // IRQ 12 on port 2 output
constexpr uint8_t kConfigPort1ClockOff = 0x10;
constexpr uint8_t kConfigTranslate = 0x40;     // set 2 -> set 1 translation

constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kPortTestPassed = 0x00;

// Keyboard commands and answers (IBM PS/2 keyboard, "Commands").
constexpr uint8_t kKbdReset = 0xFF;
constexpr uint8_t kKbdAck = 0xFA;
constexpr uint8_t kKbdSelfTestPassed = 0xAA;  // basic assurance test done

// Status polls per wait: ~1 us each on hardware, so ~0.1 s before giving up.
constexpr uint32_t kSpinLimit = 100000;
// Bytes to drain at start-up; the controller holds at most one, the keyboard a few.
constexpr uint32_t kFlushLimit = 16;
}  // namespace i8042

enum class KeyboardReset : uint8_t { Skip, Reset };

template<PortIo Io>
class I8042 {
public:
    constexpr explicit I8042(Io io) : m_io(io) {}

    // Brings up port 1 with IRQ 1 on and translation on, so the keyboard
    // delivers scancode set 1 (what KeyDecoder reads) whatever set it uses.
    // Port 2 (mouse) is left disabled. Absent: no controller (status reads
    // 0xFF, one port read), or no keyboard answering the reset. Corrupt: a
    // self-test gave the wrong answer. Timeout: the controller stopped answering.
    Result<void> init(KeyboardReset reset = KeyboardReset::Skip)
    {
        using namespace i8042;
        if (status() == kStatusNothing)
            return Error::Absent;
        TRY_VOID(command(kCmdDisablePort1));
        TRY_VOID(command(kCmdDisablePort2));
        for (uint32_t i = 0; i < kFlushLimit && (status() & kStatusOutputFull); ++i)
            m_io.read8(kData);

        TRY_VOID(command(kCmdReadConfig));
        uint8_t config = TRY(receive());
        // IRQs stay off until the end so test answers are not taken by the handler.
        config = static_cast<uint8_t>((config & ~(kConfigIrq1 | kConfigIrq12 | kConfigPort1ClockOff)) | kConfigTranslate);

        TRY_VOID(command(kCmdSelfTest));
        if (TRY(receive()) != kSelfTestPassed)
            return Error::Corrupt;
        TRY_VOID(command(kCmdTestPort1));
        if (TRY(receive()) != kPortTestPassed)
            return Error::Corrupt;
        // Written after the self-test: some controllers reset the byte there.
        TRY_VOID(write_config(config));
        TRY_VOID(command(kCmdEnablePort1));

        if (reset == KeyboardReset::Reset) {
            TRY_VOID(send(kData, kKbdReset));
            Result<uint8_t> ack = receive();
            if (!ack.ok())
                return Error::Absent;  // port 1 is empty
            if (ack.value() != kKbdAck || TRY(receive()) != kKbdSelfTestPassed)
                return Error::Corrupt;
        }
        TRY_VOID(write_config(static_cast<uint8_t>(config | kConfigIrq1)));
        m_ready = true;
        return {};
    }

    bool ready() const { return m_ready; }

    // Non-blocking, for the IRQ 1 handler: NotFound when nothing is waiting.
    Result<uint8_t> read_data()
    {
        if (!(status() & i8042::kStatusOutputFull))
            return Error::NotFound;
        return m_io.read8(i8042::kData);
    }

private:
    uint8_t status() { return m_io.read8(i8042::kStatus); }

    Result<void> send(uint16_t port, uint8_t value)
    {
        for (uint32_t i = 0; i < i8042::kSpinLimit; ++i) {
            if (!(status() & i8042::kStatusInputFull)) {
                m_io.write8(port, value);
                return {};
            }
        }
        return Error::Timeout;
    }

    Result<uint8_t> receive()
    {
        for (uint32_t i = 0; i < i8042::kSpinLimit; ++i) {
            if (status() & i8042::kStatusOutputFull)
                return m_io.read8(i8042::kData);
        }
        return Error::Timeout;
    }

    Result<void> command(uint8_t cmd) { return send(i8042::kStatus, cmd); }

    Result<void> write_config(uint8_t config)
    {
        TRY_VOID(command(i8042::kCmdWriteConfig));
        return send(i8042::kData, config);
    }

    Io m_io;
    bool m_ready { false };
};

}  // namespace exo
