#include "kernel/debug/backtrace_hw.h"

#include "kernel/debug/symbols_hw.h"
#include "kernel/mm/memory_hw.h"

namespace exo {
namespace {

constexpr int kMaxFrames = 16;   // lines printed
constexpr int kMaxWalk = 1024;   // frames followed: a 16 KiB stack of the smallest frames
constexpr uint64_t kKernelSpaceStart = 0xFFFF800000000000;

template<typename... Args>
void put(const Sink& out, const char* fmt, Args&&... args)
{
    (void)format_v(out, fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

void print_frame(const Sink& out, int i, uint64_t addr, uint64_t symbol_at)
{
    put(out, "  #%-2d %p", i, addr);
    print_symbol(out, symbol_at);
    out.write("\n", 1);
}

}  // namespace

void print_symbol(const Sink& out, uint64_t addr)
{
    SymbolHit hit;
    if (symbolize(addr, hit))
        put(out, " %s+0x%x", c_str(hit.name), addr - hit.address);
}

void print_backtrace(const Sink& out, uint64_t rip, uint64_t rbp)
{
    print_frame(out, 0, rip, rip);
    uint64_t last = rip;
    int printed = 1, run = 0;
    for (int i = 1;; ++i) {
        // Only follow frame pointers into mapped kernel memory, aligned: a
        // corrupt chain (or one running into a guard page) must not fault
        // inside a panic report. ret 0 ends the walk.
        uint64_t ret = 0;
        if (i < kMaxWalk && rbp >= kKernelSpaceStart && !(rbp & 7) && memory::is_readable(rbp, 16)) {
            auto* frame = reinterpret_cast<const uint64_t*>(rbp);
            ret = frame[1];
            rbp = frame[0];
        }
        if (ret == last) {
            ++run;
            continue;
        }
        if (run)
            put(out, "  #%d-#%d same as #%d\n", i - run, i - 1, i - run - 1);
        run = 0;
        if (ret < kKernelSpaceStart || printed == kMaxFrames)
            break;
        print_frame(out, i, ret, ret - 1);  // ret - 1: the call, not what follows it
        last = ret;
        ++printed;
    }
}

}  // namespace exo
