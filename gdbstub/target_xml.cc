#include "gdbstub/target_xml.h"

#include <stdint.h>

#include "gdbstub/registers.h"

namespace exo {
namespace {

// Feature names gdb's amd64 support looks for (features/i386/64bit-core.xml,
// 64bit-segments.xml); the core feature must carry the x87 registers so the
// numbering lines up. No SSE feature: the kernel never touches SSE state.
// Registers without a type default to an integer of their bitsize.
constexpr char kNames[] =
    "rax\0rbx\0rcx\0rdx\0rsi\0rdi\0rbp\0rsp\0r8\0r9\0r10\0r11\0r12\0r13\0r14\0r15\0rip\0eflags\0"
    "cs\0ss\0ds\0es\0fs\0gs\0st0\0st1\0st2\0st3\0st4\0st5\0st6\0st7\0"
    "fctrl\0fstat\0ftag\0fiseg\0fioff\0foseg\0fooff\0fop\0fs_base\0gs_base\0cr0\0cr2\0cr3\0cr4\0efer\0"
    "cr8\0k_gs_base\0dr0\0dr1\0dr2\0dr3\0dr6\0dr7";

// Flag types, so gdb prints eflags as [ IF ZF ] rather than 582. Each type:
// its id, NUL, a byte with its size in bytes, then each field as its name
// followed by one byte 0x80 + bit (single-bit fields; Intel SDM Vol. 3A
// 2.3 EFLAGS, 2.5 CR0/CR4, AMD APM Vol. 2 3.1.7 EFER); NUL ends a type. The
// core feature defines the first; the system feature the other three.
constexpr char kFlagTypes[] =
    "i386_eflags\0\x04" "CF\x80" "PF\x82" "AF\x84" "ZF\x86" "SF\x87" "TF\x88" "IF\x89" "DF\x8a" "OF\x8b" "NT\x8e"
    "RF\x90" "VM\x91" "AC\x92" "VIF\x93" "VIP\x94" "ID\x95\0"
    "exo_cr0\0\x08" "PE\x80" "MP\x81" "EM\x82" "TS\x83" "ET\x84" "NE\x85" "WP\x90" "AM\x92" "NW\x9d" "CD\x9e"
    "PG\x9f\0"
    "exo_cr4\0\x08" "VME\x80" "PVI\x81" "TSD\x82" "DE\x83" "PSE\x84" "PAE\x85" "MCE\x86" "PGE\x87" "PCE\x88"
    "OSFXSR\x89" "OSXMMEXCPT\x8a" "UMIP\x8b" "LA57\x8c" "VMXE\x8d" "SMXE\x8e" "FSGSBASE\x90" "PCIDE\x91"
    "OSXSAVE\x92" "SMEP\x94" "SMAP\x95" "PKE\x96\0"
    "exo_efer\0\x08" "SCE\x80" "LME\x88" "LMA\x8a" "NXE\x8b" "SVME\x8c" "LMSLE\x8d" "FFXSR\x8e" "TCE\x8f\0";
// Where the id of the type starting `skip` types into kFlagTypes is.
constexpr const char* flag_type(size_t skip)
{
    const char* p = kFlagTypes;
    for (; skip != 0; --skip) {
        p += __builtin_strlen(p) + 2;  // the id, its NUL and the size byte
        while (*p != '\0')
            ++p;
        ++p;
    }
    return p;
}

const char* type_of(GdbRegister r)
{
    if (r == GdbRegister::Rbp || r == GdbRegister::Rsp)
        return "data_ptr";
    if (r == GdbRegister::Rip)
        return "code_ptr";
    if (r >= GdbRegister::St0 && r <= GdbRegister::St7)
        return "i387_ext";
    constexpr const char* kEflags = flag_type(0);
    constexpr const char* kCr0 = flag_type(1);
    constexpr const char* kCr4 = flag_type(2);
    constexpr const char* kEfer = flag_type(3);
    if (r == GdbRegister::Eflags)
        return kEflags;
    if (r == GdbRegister::Cr0)
        return kCr0;
    if (r == GdbRegister::Cr4)
        return kCr4;
    if (r == GdbRegister::Efer)
        return kEfer;
    return nullptr;
}

const char* feature_before(GdbRegister r)
{
    if (r == GdbRegister::Rax)
        return "<target version=\"1.0\"><architecture>i386:x86-64</architecture>"
               "<feature name=\"org.gnu.gdb.i386.core\">";
    if (r == GdbRegister::FsBase)
        return "</feature><feature name=\"org.gnu.gdb.i386.segments\">";
    if (r == GdbRegister::Cr0)
        return "</feature><feature name=\"org.exo.x86-64.system\">";
    return nullptr;
}

// Writes the window [offset, offset+count) of the document as it streams by.
struct Window {
    size_t pos;
    size_t offset;
    size_t end;
    XmlPutFn put;
    void* ctx;

    // Up to a NUL or a byte >= 0x80 (which ends a field name in kFlagTypes).
    __attribute__((noinline)) void text(const char* s)
    {
        for (; static_cast<uint8_t>(*s - 1) < 0x7F; ++s, ++pos) {
            if (pos >= offset && pos < end)
                put(ctx, *s);
        }
    }

    // `pattern` with each \1 replaced by `word` (as text() reads it) and
    // each \2 by `number` (below 100; no leading zero: gdb reads "09" as
    // bad octal). One call per element keeps the emitter small.
    __attribute__((noinline)) void fill(const char* pattern, const char* word, unsigned number)
    {
        char digits[3] = { static_cast<char>('0' + number / 10), static_cast<char>('0' + number % 10), '\0' };
        char one[2] = { '\0', '\0' };
        for (; *pattern != '\0'; ++pattern) {
            one[0] = *pattern;
            text(*pattern == '\1' ? word : *pattern == '\2' ? digits + (number < 10) : one);
        }
    }

    // `count` flag types from `types`; returns where the next one starts.
    const char* flags(const char* types, size_t count)
    {
        for (; count != 0; --count) {
            const char* id = types;
            types += __builtin_strlen(types) + 1;
            fill("<flags id=\"\1\" size=\"\2\">", id, static_cast<uint8_t>(*types++));
            while (*types != '\0') {
                const char* name = types;
                while (static_cast<uint8_t>(*types) < 0x80)
                    ++types;
                unsigned bit = static_cast<uint8_t>(*types++) - 0x80u;
                fill("<field name=\"\1\" start=\"\2\" end=\"\2\"/>", name, bit);
            }
            ++types;
            text("</flags>");
        }
        return types;
    }
};

constexpr bool bit_sizes_have_two_digits()
{
    for (size_t i = 0; i < kGdbRegisterCount; ++i) {
        size_t bits = register_size(static_cast<GdbRegister>(i)) * 8;
        if (bits < 10 || bits > 99)
            return false;
    }
    return true;
}
static_assert(bit_sizes_have_two_digits(), "register sizes fit Window::bits");

}  // namespace

bool is_target_xml_annex(const char* annex, size_t annex_length)
{
    size_t name_length = __builtin_strlen(kTargetXmlAnnex);
    return annex_length == name_length && __builtin_memcmp(annex, kTargetXmlAnnex, name_length) == 0;
}

size_t emit_target_xml(size_t offset, size_t count, XmlPutFn put, void* ctx)
{
    Window w { 0, offset, count > SIZE_MAX - offset ? SIZE_MAX : offset + count, put, ctx };
    const char* name = kNames;
    const char* types = kFlagTypes;
    for (size_t i = 0; i < kGdbRegisterCount; ++i) {
        auto reg = static_cast<GdbRegister>(i);
        if (const char* f = feature_before(reg)) {
            w.text(f);
            // Types before the registers that use them, in their feature.
            if (reg == GdbRegister::Rax || reg == GdbRegister::Cr0)
                types = w.flags(types, reg == GdbRegister::Rax ? 1 : 3);
        }
        w.fill("<reg name=\"\1\" bitsize=\"\2\"", name, static_cast<unsigned>(register_size(reg) * 8));
        if (const char* type = type_of(reg))
            w.fill(" type=\"\1\"", type, 0);
        w.text("/>");
        name += __builtin_strlen(name) + 1;
    }
    w.text("</feature></target>");
    return w.pos;
}

}  // namespace exo
