/* The user program shipped in the kernel image: position-independent code
 * copied into a fresh ring-3 address space (kernel/user/user_mode_hw.cc) and
 * entered at offset 0 with the mode in RDI. Syscall numbers and the counter
 * layout are in kernel/user/syscalls_hw.h.
 *   mode 0 "sampler": 5 x (read kernel counters, send them over IPC, sleep 100 ms)
 *   mode 1 "badptr":  pass a kernel address to the counters syscall, exit with its result
 *   mode 2 "fault":   write to address 0: the kernel kills the thread
 *   mode 3 "bench":   1000 null syscalls timed with RDTSC, min, total and count reported
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
/* Laid out for size (it is image bytes): the mode counted down in EDI, so
 * each test is dec/jz (4 bytes) and every target is a short jump away;
 * modes that end with exit(0) share its tail. */
user_image_start:
    decl %edi
    jz badptr
    decl %edi
    jz fault
    decl %edi
    jz bench
    decl %edi
    jz trap
    decl %edi
    jz step
    decl %edi
    jz fuzz

sampler:
    subq $48, %rsp              /* the 48-byte message: label, words[0..3], length */
    movq $1, (%rsp)             /* label */
    movl $4, 40(%rsp)           /* length in words */
    movl $5, %ebx
1:  movl $SYS_COUNTERS, %eax
    leaq 8(%rsp), %rdi          /* the 32 bytes of counters straight into words[0..3] */
    syscall
    movl $SYS_IPC_SEND, %eax
    xorl %edi, %edi             /* endpoint 0: "sampler" */
    movq %rsp, %rsi
    syscall
    movl $SYS_SLEEP, %eax
    movl $100, %edi
    syscall
    decl %ebx
    jnz 1b
    jmp exit0

badptr:
    movl $SYS_COUNTERS, %eax
    movq $0xffffffff80100000, %rdi  /* sign-extended from 32 bits */
    syscall
    movq %rax, %rdi             /* expected: -14 (EFAULT) */
    jmp exit

fault:
    xorl %eax, %eax
    movq $1, (%rax)
    ud2

step:                           /* TF set by the program itself: #DB after each instruction */
    pushfq
    orl $0x100, (%rsp)
    popfq
    pushfq
    andl $~0x100, (%rsp)
    popfq
    jmp exit0

trap:                           /* a breakpoint compiled into a user program */
    int3
exit0:
    xorl %edi, %edi
exit:
    movl $SYS_EXIT, %eax
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
    movl $1000, %edx
    syscall
    jmp exit0

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
    jmp exit
user_image_end:
