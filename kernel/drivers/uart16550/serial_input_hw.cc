#include "kernel/drivers/uart16550/serial_input_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/drivers/pic8259/pic_hw.h"
#include "kernel/lib/byte_ring.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/drivers/uart16550/console_hw.h"

namespace exo::serial_input {
namespace {

constexpr uint8_t kIrqCom1 = 4;

// Producer: the IRQ 4 handler. Consumer: the shell, with interrupts off
// around each pop (one CPU, so that is the lock).
constinit ByteRing<1024> g_ring {};  // full: bytes wait in the UART and QEMU, none lost
constinit uint64_t g_received = 0;
// The shell thread waits here for input; the IRQ wakes it.
constinit WaitQueue g_readers {};

void drain_uart()
{
    while (!g_ring.full()) {
        Result<uint8_t> b = console::try_read();
        if (!b.ok())
            break;
        g_ring.push(b.value());
        ++g_received;
    }
}

constinit bool g_rx_interrupt_on = false;

void on_com1(TrapFrame&)
{
    drain_uart();
    if (threads::started() && !g_ring.empty())
        g_readers.wake_all(threads::scheduler());
    // Leave the rest in the UART; the consumer re-polls once it made room.
    if (g_ring.full())
        pic::mask(kIrqCom1);
}

Result<void> start_rx()
{
    idt::set_irq_handler(kIrqCom1, on_com1);
    console::enable_rx_interrupt();
    g_rx_interrupt_on = true;
    pic::unmask(kIrqCom1);
    driver_detail("com1", "16550A at 0x%x, %u 8N1, IRQ 4, RX ring %u B", console::kCom1, console::kBaud,
        g_ring.capacity());
    return {};
}

}  // namespace

EXO_DRIVER_TASK(kConsoleRxTask, "com1", BootPhase::Essential, start_rx, "idt", "lapic");

namespace {

// One byte from the ring, refilling it from the UART if the IRQ stopped
// reading when the ring was full. Interrupts must be off.
bool take(uint8_t& b)
{
    if (g_ring.pop(b))
        return true;
    drain_uart();
    pic::unmask(kIrqCom1);
    return g_ring.pop(b);
}

}  // namespace

Result<uint8_t> try_read()
{
    cpu::InterruptGuard guard;
    uint8_t b;
    if (take(b))
        return b;
    return Error::NotFound;
}

uint8_t read_blocking()
{
    for (;;) {
        cpu::cli();
        uint8_t b;
        if (take(b)) {
            cpu::sti();
            return b;
        }
        if (threads::started() && &threads::current() != &threads::scheduler().idle())
            (void)threads::block_current(g_readers, kForever);
        else
            cpu::sti_hlt();  // before threads: IF=1 and halt atomically, the next IRQ wakes us
    }
}

void inject(const char* bytes, size_t n)
{
    cpu::InterruptGuard guard;
    for (size_t i = 0; i < n; ++i)
        g_ring.push(static_cast<uint8_t>(bytes[i]));
    if (threads::started())
        g_readers.wake_all(threads::scheduler());
}

bool keep(uint8_t b)
{
    if (g_ring.full())
        return false;
    g_ring.push(b);
    ++g_received;
    return true;
}

void wake_readers()
{
    if (threads::started())
        g_readers.wake_all(threads::scheduler());
}

uint64_t bytes_received()
{
    cpu::InterruptGuard guard;
    return g_received;
}

bool rx_interrupt_on() { return g_rx_interrupt_on; }

}  // namespace exo::serial_input
