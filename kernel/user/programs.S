/* The user program shipped in the kernel image: position-independent code
 * copied into a fresh ring-3 address space (kernel/user/user_mode_hw.cc) and
 * entered at offset 0 with the mode in RDI. Syscall numbers and the counter
 * layout are in kernel/user/syscalls_hw.h.
 *   mode 0 "sampler": 5 x (read kernel counters, send them over IPC, sleep 100 ms)
 *   mode 1 "badptr":  pass a kernel address to the counters syscall, exit with its result
 *   mode 2 "fault":   write to address 0: the kernel kills the thread
 *   mode 3 "bench":   1000 null syscalls timed with RDTSC, min and total reported
 *   mode 4 "trap":    an int3
 *   mode 5 "step":    sets TF, then clears it: single-step traps in ring 3
 *   mode 6 "fuzz":    4096 syscalls with pseudo-random numbers and arguments */
#define SYS_EXIT 0
#define SYS_NULL 1
#define SYS_COUNTERS 2
#define SYS_IPC_SEND 3
#define SYS_SLEEP 4
#define SYS_BENCH_REPORT 5

    .section .rodata.user_image, "a"
    .code64
    .global user_image_start, user_image_end
    .balign 16
user_image_start:
    cmpq $1, %rdi
    je badptr
    cmpq $2, %rdi
    je fault
    cmpq $3, %rdi
    je bench
    cmpq $4, %rdi
    je trap
    cmpq $5, %rdi
    je step
    cmpq $6, %rdi
    je fuzz

sampler:
    subq $96, %rsp              /* 32 B counters at 0(%rsp), 48 B message at 32(%rsp) */
    movl $5, %ebx
1:  movl $SYS_COUNTERS, %eax
    movq %rsp, %rdi
    syscall
    movq $1, 32(%rsp)           /* label */
    movq 0(%rsp), %rax          /* words[0..3] = the counters */
    movq %rax, 40(%rsp)
    movq 8(%rsp), %rax
    movq %rax, 48(%rsp)
    movq 16(%rsp), %rax
    movq %rax, 56(%rsp)
    movq 24(%rsp), %rax
    movq %rax, 64(%rsp)
    movl $4, 72(%rsp)           /* length in words */
    movl $SYS_IPC_SEND, %eax
    xorl %edi, %edi             /* endpoint 0: "sampler" */
    leaq 32(%rsp), %rsi
    syscall
    movl $SYS_SLEEP, %eax
    movl $100, %edi
    syscall
    decl %ebx
    jnz 1b
    movl $SYS_EXIT, %eax
    xorl %edi, %edi
    syscall

badptr:
    movl $SYS_COUNTERS, %eax
    movabsq $0xffffffff80100000, %rdi
    syscall
    movq %rax, %rdi             /* expected: -14 (EFAULT) */
    movl $SYS_EXIT, %eax
    syscall

fault:
    movq $0, %rax
    movq $1, (%rax)
    ud2

fuzz:                           /* numbers 1-8 (6-8 do not exist), raw 64-bit arguments:
                                 * bad pointers, huge lengths and sleeps; now and then a
                                 * pointer into its own stack, so calls also succeed.
                                 * Exits with how many returned 0. */
    movl $4096, %ebx
    xorl %r13d, %r13d
    movabsq $0x9E3779B97F4A7C15, %r12
3:  movq %r12, %rax             /* xorshift64 (13, 7, 17) */
    shlq $13, %rax
    xorq %rax, %r12
    movq %r12, %rax
    shrq $7, %rax
    xorq %rax, %r12
    movq %r12, %rax
    shlq $17, %rax
    xorq %rax, %r12
    movq %r12, %rdi
    btq $8, %r12
    jnc 4f
    leaq -128(%rsp), %rdi
4:  movq %r12, %rsi
    rorq $16, %rsi
    movl %r12d, %eax
    andl $7, %eax
    incl %eax
    syscall
    testq %rax, %rax
    jnz 5f
    incl %r13d
5:  decl %ebx
    jnz 3b
    movl %r13d, %edi
    movl $SYS_EXIT, %eax
    syscall

step:                           /* TF set by the program itself: #DB after each instruction */
    pushfq
    orl $0x100, (%rsp)
    popfq
    pushfq
    andl $~0x100, (%rsp)
    popfq
    jmp 1f

trap:                           /* a breakpoint compiled into a user program */
    int3
1:
    movl $SYS_EXIT, %eax
    xorl %edi, %edi
    syscall

bench:
    movl $1000, %ebx
    movq $-1, %r12              /* min */
    xorl %r13d, %r13d           /* total */
2:  rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    movq %rdx, %r14
    movl $SYS_NULL, %eax
    syscall
    rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    subq %r14, %rdx
    addq %rdx, %r13
    cmpq %r12, %rdx
    cmovbq %rdx, %r12
    decl %ebx
    jnz 2b
    movl $SYS_BENCH_REPORT, %eax
    movq %r12, %rdi
    movq %r13, %rsi
    syscall
    movl $SYS_EXIT, %eax
    xorl %edi, %edi
    syscall
user_image_end:
