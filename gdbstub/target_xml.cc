#include "gdbstub/target_xml.h"

namespace exo {

namespace {

// Feature names gdb's amd64 support looks for (features/i386/64bit-core.xml,
// 64bit-segments.xml); the core feature must carry the x87 registers so the
// numbering lines up. No SSE feature: the kernel never touches SSE state.
// Registers without a type default to an integer of their bitsize.
#define EXO_REG64(name) "<reg name=\"" name "\" bitsize=\"64\"/>"
#define EXO_REG32(name) "<reg name=\"" name "\" bitsize=\"32\"/>"
#define EXO_ST(n) "<reg name=\"st" #n "\" bitsize=\"80\" type=\"i387_ext\"/>"
#define EXO_FLAG(name, bit) "<field name=\"" name "\" start=\"" #bit "\" end=\"" #bit "\"/>"

constexpr char kTargetXml[] =
    "<target version=\"1.0\"><architecture>i386:x86-64</architecture>"
    "<feature name=\"org.gnu.gdb.i386.core\">"
    EXO_REG64("rax") EXO_REG64("rbx") EXO_REG64("rcx") EXO_REG64("rdx")
    EXO_REG64("rsi") EXO_REG64("rdi")
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
    EXO_REG64("r8") EXO_REG64("r9") EXO_REG64("r10") EXO_REG64("r11")
    EXO_REG64("r12") EXO_REG64("r13") EXO_REG64("r14") EXO_REG64("r15")
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
    EXO_REG32("eflags")
    EXO_REG32("cs") EXO_REG32("ss") EXO_REG32("ds") EXO_REG32("es") EXO_REG32("fs") EXO_REG32("gs")
    EXO_ST(0) EXO_ST(1) EXO_ST(2) EXO_ST(3) EXO_ST(4) EXO_ST(5) EXO_ST(6) EXO_ST(7)
    EXO_REG32("fctrl") EXO_REG32("fstat") EXO_REG32("ftag") EXO_REG32("fiseg")
    EXO_REG32("fioff") EXO_REG32("foseg") EXO_REG32("fooff") EXO_REG32("fop")
    "</feature>"
    "<feature name=\"org.gnu.gdb.i386.segments\">" EXO_REG64("fs_base") EXO_REG64("gs_base") "</feature>"
    "<feature name=\"org.exo.x86-64.system\">"
    EXO_REG64("cr0") EXO_REG64("cr2") EXO_REG64("cr3") EXO_REG64("cr4") EXO_REG64("efer")
    "</feature></target>";

#undef EXO_REG64
#undef EXO_REG32
#undef EXO_ST
#undef EXO_FLAG

}  // namespace

XmlDocument find_target_xml(const char* annex, size_t annex_length)
{
    size_t name_length = __builtin_strlen(kTargetXmlAnnex);
    if (annex_length != name_length || __builtin_memcmp(annex, kTargetXmlAnnex, name_length) != 0)
        return {};
    return { kTargetXml, sizeof(kTargetXml) - 1 };
}

}  // namespace exo
