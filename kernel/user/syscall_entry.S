/* SYSCALL entry (Intel SDM Vol. 2B, SYSCALL; AMD APM Vol. 2 §6.1.1).
 * FMASK clears IF, so nothing can interleave on this single CPU until the
 * kernel stack is in place. ABI: number in RAX, arguments in RDI, RSI, RDX,
 * R10; result in RAX; RCX, R11 and the other caller-saved registers are
 * clobbered, callee-saved ones preserved. */
    .section .text.syscall, "ax"
    .code64
    .global syscall_entry, syscall_kernel_rsp, syscall_user_rsp
syscall_entry:
    movq %rsp, syscall_user_rsp(%rip)
    movq syscall_kernel_rsp(%rip), %rsp
    pushq syscall_user_rsp(%rip)
    pushq %rcx                  /* user RIP */
    pushq %r11                  /* user RFLAGS */
    pushq %rax                  /* keeps the C call 16-byte aligned */
    movq %r10, %rcx             /* syscall_dispatch(nr, a0, a1, a2, a3) */
    movq %rdx, %r8
    movq %rsi, %rdx
    movq %rdi, %rsi
    movq %rax, %rdi
    xchgq %rcx, %r8             /* a2 = RDX, a3 = R10 */
    call syscall_dispatch
    addq $8, %rsp
    popq %r11
    popq %rcx
    /* Intel's SYSRET faults in ring 0, on the user's stack, when RCX is not
     * canonical (CVE-2012-0217): a user RIP is below 2^47 or the thread dies. */
    movq %rcx, %rdx
    shrq $47, %rdx
    jnz 1f
    popq %rsp
    sysretq
1:  movq %rcx, %rdi
    call syscall_bad_return

/* iretq into ring 3 for a new user thread:
 * user_enter(rip, rsp, arg) with the user address space already loaded. */
    .global user_enter
user_enter:
    movq %rdi, %rax
    pushq $0x23                 /* SS: user data (gdt::kUserData) */
    pushq %rsi                  /* RSP */
    pushq $0x202                /* RFLAGS: IF */
    pushq $0x2b                 /* CS: user code (gdt::kUserCode) */
    pushq %rax                  /* RIP */
    movq %rdx, %rdi             /* the program's argument */
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    iretq

    .section .bss
    .balign 8
syscall_kernel_rsp: .quad 0
syscall_user_rsp:   .quad 0
