// Register numbering shared by `g`/`G`, `p`/`P`, stop replies and target.xml:
// GDB's amd64 layout (features/i386/64bit-core.xml, then 64bit-segments.xml),
// then our own system feature. GDB finds registers by position in the XML,
// so this order is the protocol.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

enum class GdbRegister : uint8_t {
    // org.gnu.gdb.i386.core
    Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, Rsp,
    R8, R9, R10, R11, R12, R13, R14, R15,
    Rip, Eflags,
    Cs, Ss, Ds, Es, Fs, Gs,
    St0, St1, St2, St3, St4, St5, St6, St7,  // x87, 80 bits: always unavailable
    Fctrl, Fstat, Ftag, Fiseg, Fioff, Foseg, Fooff, Fop,
    // org.gnu.gdb.i386.segments
    FsBase, GsBase,
    // org.exo.x86-64.system (after efer: added later, so numbers stay put)
    Cr0, Cr2, Cr3, Cr4, Efer,
    Cr8, KGsBase,
    Dr0, Dr1, Dr2, Dr3, Dr6, Dr7,  // as the kernel runs with them (the stub's breakpoints)
    Count,
};

constexpr size_t kGdbRegisterCount = static_cast<size_t>(GdbRegister::Count);

constexpr bool is_x87_register(GdbRegister r) { return r >= GdbRegister::St0 && r <= GdbRegister::Fop; }

// Bytes in the register image (bitsize / 8 in target.xml).
constexpr size_t register_size(GdbRegister r)
{
    if (r >= GdbRegister::St0 && r <= GdbRegister::St7)
        return 10;
    if ((r >= GdbRegister::Eflags && r <= GdbRegister::Gs) || (r >= GdbRegister::Fctrl && r <= GdbRegister::Fop))
        return 4;
    return 8;
}

constexpr size_t register_offset(GdbRegister r)
{
    size_t offset = 0;
    for (size_t i = 0; i < static_cast<size_t>(r); ++i)
        offset += register_size(static_cast<GdbRegister>(i));
    return offset;
}

// Size of the `g` image in bytes.
constexpr size_t kGdbRegisterBytes = register_offset(GdbRegister::Count);
static_assert(kGdbRegisterBytes == 17 * 8 + 7 * 4 + 8 * 10 + 8 * 4 + 2 * 8 + 13 * 8);
static_assert(kGdbRegisterBytes * 2 < 0x800, "g reply must fit one packet");

}  // namespace exo
