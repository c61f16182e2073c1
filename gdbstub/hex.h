// Hex digits as the GDB remote protocol uses them: lowercase out, either case
// in. Numbers in packets are big-endian hex; register images are target byte
// order (little-endian on x86-64), each byte as two digits.
#pragma once

#include <stdint.h>

namespace exo {

constexpr int kNotHex = -1;

constexpr int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return kNotHex;
}

constexpr char hex_digit(unsigned nibble) { return "0123456789abcdef"[nibble & 0xF]; }

}  // namespace exo
