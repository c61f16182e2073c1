/* size_t safe_copy(void* dst, const void* src, size_t n)
 * Byte copy that survives a fault: the #PF/#GP hook in
 * kernel/mm/safe_memory_hw.cc sees a faulting RIP inside
 * [safe_copy_begin, safe_copy_end) and resumes at safe_copy_fault, so the
 * caller learns how many bytes were copied (RAX) instead of the kernel dying. */
    .section .text.safe_copy, "ax"
    .code64
    .global safe_copy, safe_copy_begin, safe_copy_end, safe_copy_fault
safe_copy:
    xorl %eax, %eax
safe_copy_begin:
1:  cmpq %rdx, %rax
    je 2f
    movb (%rsi,%rax), %cl
    movb %cl, (%rdi,%rax)
    incq %rax
    jmp 1b
safe_copy_end:
2:  ret
safe_copy_fault:
    ret
