/* void context_switch(uint64_t* save_rsp, uint64_t next_rsp)
 * Saves the callee-saved registers (SysV ABI) on the current stack, stores
 * the stack pointer, and resumes the other thread where it saved its own.
 * Caller-saved registers are already saved by the C++ caller. */
    .section .text.context_switch, "ax"
    .code64
    .global context_switch, thread_trampoline
context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* First return of a new thread: kernel/sched/threads_hw.cc lays out its stack
 * so context_switch "returns" here with r12 = Thread*, r13 = thread_bootstrap. */
    .cfi_sections .debug_frame
thread_trampoline:
    .cfi_startproc
    .cfi_undefined rip      /* the outermost frame of every thread: debuggers stop here */
    movq %r12, %rdi
    xorl %ebp, %ebp
    callq *%r13             /* thread_bootstrap(Thread*): never returns */
1:  hlt
    jmp 1b
    .cfi_endproc
