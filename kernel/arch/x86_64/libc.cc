// The C symbols the compiler may emit calls to (memcpy for struct copies,
// memset for zero-init). Pure code calls __builtin_mem*, which lands here in
// the kernel and in libc on the host.
#include <stddef.h>
#include <stdint.h>

extern "C" {

// Eight bytes per step where possible: under TCG every rep iteration costs
// about the same, so stosq/movsq are ~8x faster than the byte forms.
// Out of line: LTO inlined the two rep sequences at every struct copy.
[[gnu::noinline]] void* memcpy(void* dst, const void* src, size_t n)
{
    void* ret = dst;
    size_t words = n / 8, rest = n % 8;
    asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
    asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(rest) : : "memory");
    return ret;
}

// First in .text (linker.ld), so its fill loop sits at a fixed place in
// the first page of the image, nowhere near a page boundary.
__attribute__((section(".text.memset"))) void* memset(void* dst, int value, size_t n)
{
    void* ret = dst;
    uint64_t pattern = 0x0101010101010101ull * static_cast<uint8_t>(value);
    // Under TCG a rep iteration is one translated-block execution (~45 ns):
    // a 16 KiB stack fill was 2,048 of them. One loop step of eight stores
    // is one block: page-sized fills (tables, stacks, bitmaps) take 8x fewer.
    // The loop (40 bytes) must not straddle a page: TCG ends a block at a
    // page boundary, which split each step in three. linker.ld places this
    // function where it cannot (an alignment here would pad the image).
    if (size_t blocks = n / 64) {
        asm volatile("2:\n\t"
                     "movq %%rax, (%%rdi)\n\t movq %%rax, 8(%%rdi)\n\t"
                     "movq %%rax, 16(%%rdi)\n\t movq %%rax, 24(%%rdi)\n\t"
                     "movq %%rax, 32(%%rdi)\n\t movq %%rax, 40(%%rdi)\n\t"
                     "movq %%rax, 48(%%rdi)\n\t movq %%rax, 56(%%rdi)\n\t"
                     "subq $-64, %%rdi\n\t"
                     "decq %%rcx\n\t"
                     "jnz 2b"
                     : "+D"(dst), "+c"(blocks)
                     : "a"(pattern)
                     : "memory");
        n %= 64;
    }
    size_t words = n / 8, rest = n % 8;
    asm volatile("rep stosq" : "+D"(dst), "+c"(words) : "a"(pattern) : "memory");
    asm volatile("rep stosb" : "+D"(dst), "+c"(rest) : "a"(pattern) : "memory");
    return ret;
}

void* memmove(void* dst, const void* src, size_t n)
{
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

int memcmp(const void* a, const void* b, size_t n)
{
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char* s)
{
    size_t n = 0;
    while (s[n])
        ++n;
    return n;
}

}  // extern "C"

extern "C" int strcmp(const char* a, const char* b)
{
    while (*a && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}
