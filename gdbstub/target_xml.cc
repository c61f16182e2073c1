#include "gdbstub/target_xml.h"

#include <stdint.h>

#include "gdbstub/hex.h"
#include "gdbstub/registers.h"
#include "kernel/lib/names.h"

namespace exo {
namespace {

// Registers in GdbRegister order. A byte 0xF0 + n before a name opens
// feature n of kFeatures (and the flag types it defines); a byte 0x80 + t
// after it gives the register type t of kTypes. Feature names are those
// gdb's amd64 support looks for (features/i386/64bit-core.xml,
// 64bit-segments.xml); the core feature must carry the x87 registers so the
// numbering lines up. No SSE feature: the kernel never touches SSE state.
// Registers without a type default to an integer of their bitsize.
alignas(1) constexpr char kRegisters[] =
    "\xf0" "rax\0rbx\0rcx\0rdx\0rsi\0rdi\0rbp\x80\0rsp\x80\0r8\0r9\0r10\0r11\0r12\0r13\0r14\0r15\0rip\x81\0"
    "eflags\x83\0cs\0ss\0ds\0es\0fs\0gs\0st0\x82\0st1\x82\0st2\x82\0st3\x82\0st4\x82\0st5\x82\0st6\x82\0st7\x82\0"
    "fctrl\0fstat\0ftag\0fiseg\0fioff\0foseg\0fooff\0fop\0\xf1" "fs_base\0gs_base\0\xf2" "cr0\x84\0cr2\0cr3\0cr4\x85\0"
    "efer\x86\0cr8\0k_gs_base\0dr0\0dr1\0dr2\0dr3\0dr6\0dr7\0";
alignas(1) constexpr char kFeatures[] =
    "<target version=\"1.0\"><architecture>i386:x86-64</architecture><feature name=\"org.gnu.gdb.i386.core\">\0"
    "</feature><feature name=\"org.gnu.gdb.i386.segments\">\0"
    "</feature><feature name=\"org.exo.x86-64.system\">\0";
// gdb's own types, then the flag types below in their order.
alignas(1) constexpr char kTypes[] = "data_ptr\0code_ptr\0i387_ext\0i386_eflags\0exo_cr0\0exo_cr4\0exo_efer\0";
constexpr size_t kFirstFlagType = 3;

// Flag types, so gdb prints eflags as [ IF ZF ] rather than 582. Each type:
// a byte with its size in bytes, then each field as its name followed by one
// byte 0x80 + bit (single-bit fields; Intel SDM Vol. 3A 2.3 EFLAGS, 2.5
// CR0/CR4, AMD APM Vol. 2 3.1.7 EFER); NUL ends a type. The core feature
// defines the first; the system feature the other three.
alignas(1) constexpr char kFlagTypes[] =
    "\x04" "CF\x80" "PF\x82" "AF\x84" "ZF\x86" "SF\x87" "TF\x88" "IF\x89" "DF\x8a" "OF\x8b" "NT\x8e"
    "RF\x90" "VM\x91" "AC\x92" "VIF\x93" "VIP\x94" "ID\x95\0"
    "\x08" "PE\x80" "MP\x81" "EM\x82" "TS\x83" "ET\x84" "NE\x85" "WP\x90" "AM\x92" "NW\x9d" "CD\x9e"
    "PG\x9f\0"
    "\x08" "VME\x80" "PVI\x81" "TSD\x82" "DE\x83" "PSE\x84" "PAE\x85" "MCE\x86" "PGE\x87" "PCE\x88"
    "OSFXSR\x89" "OSXMMEXCPT\x8a" "UMIP\x8b" "LA57\x8c" "VMXE\x8d" "SMXE\x8e" "FSGSBASE\x90" "PCIDE\x91"
    "OSXSAVE\x92" "SMEP\x94" "SMAP\x95" "PKE\x96\0"
    "\x08" "SCE\x80" "LME\x88" "LMA\x8a" "NXE\x8b" "SVME\x8c" "LMSLE\x8d" "FFXSR\x8e" "TCE\x8f\0";

// Flag types [first, end) of kTypes, their fields from `fields`; returns
// where the next type's fields start.
const char* emit_flags(XmlWindow& w, const char* fields, size_t first, size_t end)
{
    for (; first != end; ++first) {
        w.fill("<flags id=\"\1\" size=\"\2\">", name_at(kTypes, first), static_cast<uint8_t>(*fields++));
        while (*fields != '\0') {
            const char* name = fields;
            while (static_cast<uint8_t>(*fields) < 0x80)
                ++fields;
            unsigned bit = static_cast<uint8_t>(*fields++) - 0x80u;
            w.fill("<field name=\"\1\" start=\"\2\" end=\"\2\"/>", name, bit);
        }
        ++fields;
        w.text("</flags>");
    }
    return fields;
}

}  // namespace

__attribute__((noinline)) const char* XmlWindow::text(const char* s)
{
    for (; static_cast<uint8_t>(*s - 4) < 0x7C; ++s, ++pos) {
        if (pos >= offset && pos < end)
            put(ctx, *s);
    }
    return s;
}

__attribute__((noinline)) void XmlWindow::fill(const char* pattern, const char* word, uint64_t number)
{
    for (const char* p = pattern; *(p = text(p)) != '\0'; ++p) {
        if (*p == '\1') {
            text(word);
            continue;
        }
        // Backwards from the end: at least one digit.
        unsigned base = *p == '\2' ? 10 : 16;
        char digits[17];
        char* d = digits + sizeof digits - 1;
        *d = '\0';
        uint64_t n = number;
        do {
            *--d = hex_digit(static_cast<unsigned>(n % base));
            n /= base;
        } while (n != 0);
        text(d);
    }
}

void emit_target_xml(XmlWindow& w)
{
    const char* p = kRegisters;
    const char* fields = kFlagTypes;
    for (size_t i = 0; i < kGdbRegisterCount; ++i) {
        uint8_t feature = static_cast<uint8_t>(*p) - 0xF0u;
        if (feature < 3) {
            ++p;
            w.text(name_at(kFeatures, feature));
            // Types before the registers that use them, in their feature:
            // eflags' in the core, the other three in the system feature.
            if (feature != 1)
                fields = emit_flags(w, fields, feature == 0 ? kFirstFlagType : kFirstFlagType + 1,
                    feature == 0 ? kFirstFlagType + 1 : kFirstFlagType + 4);
        }
        const char* name = p;
        while (static_cast<uint8_t>(*p - 1) < 0x7F)
            ++p;
        uint8_t type = static_cast<uint8_t>(*p);
        p += type != 0 ? 2 : 1;
        w.fill("<reg name=\"\1\" bitsize=\"\2\"", name, register_size(static_cast<GdbRegister>(i)) * 8);
        if (type != 0)
            w.fill(" type=\"\1\"", name_at(kTypes, type - 0x80u), 0);
        w.text("/>");
    }
    w.text("</feature></target>");
}

}  // namespace exo
