// The i8042 keyboard controller bring-up against a controller whose every
// answer comes from the input (runs of one value, long enough to reach the
// poll limits). Checked: only ports 0x60 and 0x64 are touched, bytewise; a
// byte goes to the controller only right after the status said its input
// buffer is empty, and the data port is read only right after the status
// said a byte waits; every wait gives up within its poll limit; no
// controller (status 0xFF) is one read; a successful init sent the commands
// in order and left IRQ 1 and translation on, port 2's IRQ and port 1's
// clock-off bit clear, IRQ 1 enabled only by the last write.
// Input: flags (bit 0: reset the keyboard), then runs: value, log2 of the
// number of reads that return it (once they run out, a controller that
// always answers at once).
#include <stdint.h>

#include <vector>

#include "kernel/drivers/i8042/i8042.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

struct Access {
    bool write;
    uint16_t port;
    uint8_t value;
};

struct Controller {
    FuzzInput* in;
    uint8_t value = 0;
    uint32_t left = 0;  // reads still answered with `value`
    std::vector<Access> log;

    uint8_t next(uint16_t port)
    {
        if (left == 0) {
            if (in->empty())  // then a controller that always answers at once
                return port == i8042::kStatus ? i8042::kStatusOutputFull : 0x00;
            value = in->byte();
            left = 1u << (in->byte() % 18);
        }
        --left;
        return value;
    }
};

class ScriptedIo {
public:
    explicit ScriptedIo(Controller& c) : m_c(&c) {}
    uint8_t read8(uint16_t port)
    {
        FUZZ_CHECK(port == i8042::kData || port == i8042::kStatus);
        uint8_t v = m_c->next(port);
        m_c->log.push_back({ false, port, v });
        return v;
    }
    void write8(uint16_t port, uint8_t v)
    {
        FUZZ_CHECK(port == i8042::kData || port == i8042::kStatus);
        m_c->log.push_back({ true, port, v });
    }
    uint16_t read16(uint16_t) { FUZZ_CHECK(!"16-bit read"); return 0; }
    uint32_t read32(uint16_t) { FUZZ_CHECK(!"32-bit read"); return 0; }
    void write16(uint16_t, uint16_t) { FUZZ_CHECK(!"16-bit write"); }
    void write32(uint16_t, uint32_t) { FUZZ_CHECK(!"32-bit write"); }

private:
    Controller* m_c;
};
static_assert(PortIo<ScriptedIo>);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    KeyboardReset reset = in.flag() ? KeyboardReset::Reset : KeyboardReset::Skip;
    Controller c { &in };
    I8042<ScriptedIo> kbd { ScriptedIo(c) };
    Result<void> got = kbd.init(reset);
    FUZZ_CHECK(kbd.ready() == got.ok());

    const std::vector<Access>& log = c.log;
    FUZZ_CHECK(!log.empty() && !log[0].write && log[0].port == i8042::kStatus);
    if (log[0].value == i8042::kStatusNothing) {
        FUZZ_CHECK(!got.ok() && got.error() == Error::Absent && log.size() == 1);
        return 0;
    }
    // Waits are bounded: at most 14 of them, each within its limit.
    FUZZ_CHECK(log.size() <= 14 * (i8042::kSpinLimit + 1) + i8042::kFlushLimit * 2 + 1);
    std::vector<Access> writes;
    for (size_t i = 1; i < log.size(); ++i) {
        const Access& a = log[i];
        const Access& before = log[i - 1];
        bool after_status = !before.write && before.port == i8042::kStatus;
        if (a.write) {
            FUZZ_CHECK(after_status && !(before.value & i8042::kStatusInputFull));
            writes.push_back(a);
        } else if (a.port == i8042::kData) {
            FUZZ_CHECK(after_status && (before.value & i8042::kStatusOutputFull));
        }
    }
    if (!got.ok())
        return 0;
    std::vector<uint8_t> commands;
    for (const Access& w : writes) {
        if (w.port == i8042::kStatus)
            commands.push_back(w.value);
    }
    std::vector<uint8_t> want = { i8042::kCmdDisablePort1, i8042::kCmdDisablePort2, i8042::kCmdReadConfig,
        i8042::kCmdSelfTest, i8042::kCmdTestPort1, i8042::kCmdWriteConfig, i8042::kCmdEnablePort1,
        i8042::kCmdWriteConfig };
    FUZZ_CHECK(commands == want);
    size_t n = writes.size();
    FUZZ_CHECK(n == want.size() + 2 + (reset == KeyboardReset::Reset));
    const Access& first_config = writes[6];  // after the first write-config command
    const Access& last_config = writes[n - 1];
    FUZZ_CHECK(first_config.port == i8042::kData && last_config.port == i8042::kData);
    FUZZ_CHECK(last_config.value == (first_config.value | i8042::kConfigIrq1));
    FUZZ_CHECK((first_config.value & (i8042::kConfigIrq1 | i8042::kConfigIrq12 | i8042::kConfigPort1ClockOff)) == 0);
    FUZZ_CHECK(first_config.value & i8042::kConfigTranslate);
    if (reset == KeyboardReset::Reset)
        FUZZ_CHECK(writes[n - 3].port == i8042::kData && writes[n - 3].value == i8042::kKbdReset);

    // After init: one non-blocking read.
    size_t before = c.log.size();
    Result<uint8_t> byte = kbd.read_data();
    FUZZ_CHECK(byte.ok() == ((c.log[before].value & i8042::kStatusOutputFull) != 0));
    FUZZ_CHECK(c.log.size() == before + (byte.ok() ? 2 : 1));
    return 0;
}
