// The seam between device logic and the machine: drivers are templates over
// an Io type, so the same driver code runs against real ports in the kernel
// (kernel/arch/x86_64/port_io.h) and against a scripted fake in host tests
// (tests/unit/fake_io.h).
#pragma once

#include <concepts>
#include <stdint.h>

namespace exo {

template<typename T>
concept PortIo = requires(T& io, uint16_t port, uint8_t v8, uint16_t v16, uint32_t v32) {
    { io.read8(port) } -> std::same_as<uint8_t>;
    { io.read16(port) } -> std::same_as<uint16_t>;
    { io.read32(port) } -> std::same_as<uint32_t>;
    io.write8(port, v8);
    io.write16(port, v16);
    io.write32(port, v32);
};

}  // namespace exo
