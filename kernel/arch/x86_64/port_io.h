// The real PortIo: x86 `in`/`out` instructions. Drivers take this type as a
// template argument; host tests substitute tests/unit/fake_io.h.
#pragma once

#include <stdint.h>

#include "kernel/lib/io.h"

namespace exo {

struct X86PortIo {
    uint8_t read8(uint16_t port)
    {
        uint8_t v;
        asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
        return v;
    }
    uint16_t read16(uint16_t port)
    {
        uint16_t v;
        asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
        return v;
    }
    uint32_t read32(uint16_t port)
    {
        uint32_t v;
        asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
        return v;
    }
    void write8(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
    void write16(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
    void write32(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
};

static_assert(PortIo<X86PortIo>);

}  // namespace exo
