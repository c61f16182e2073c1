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
    "fctrl\0fstat\0ftag\0fiseg\0fioff\0foseg\0fooff\0fop\0fs_base\0gs_base\0cr0\0cr2\0cr3\0cr4\0efer";

const char* type_of(GdbRegister r)
{
    if (r == GdbRegister::Rbp || r == GdbRegister::Rsp)
        return "data_ptr";
    if (r == GdbRegister::Rip)
        return "code_ptr";
    if (r >= GdbRegister::St0 && r <= GdbRegister::St7)
        return "i387_ext";
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

    void text(const char* s)
    {
        for (; *s; ++s, ++pos) {
            if (pos >= offset && pos < end)
                put(ctx, *s);
        }
    }

    // Bit sizes here are 32, 64 or 80: always two digits.
    void bits(unsigned v)
    {
        char s[3] = { static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10), '\0' };
        text(s);
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
static_assert(bit_sizes_have_two_digits(), "Window::bits writes two digits");

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
    for (size_t i = 0; i < kGdbRegisterCount; ++i) {
        auto reg = static_cast<GdbRegister>(i);
        if (const char* f = feature_before(reg))
            w.text(f);
        w.text("<reg name=\"");
        w.text(name);
        w.text("\" bitsize=\"");
        w.bits(static_cast<unsigned>(register_size(reg) * 8));
        if (const char* type = type_of(reg)) {
            w.text("\" type=\"");
            w.text(type);
        }
        w.text("\"/>");
        name += __builtin_strlen(name) + 1;
    }
    w.text("</feature></target>");
    return w.pos;
}

}  // namespace exo
