/* Interrupt entry stubs: every vector we install pushes a uniform TrapFrame
 * (kernel/arch/x86_64/trap_frame.h) and calls trap_dispatch(frame). Vectors
 * where the CPU pushes an error code (SDM Vol. 3A Table 6-1: 8, 10-14, 17,
 * 21, 29, 30) skip the dummy push. */

    /* isr_table: each STUB appends its address, so the table is in stub order. */
    .section .rodata.isr_table, "a"
    .balign 8
    .global isr_table
isr_table:

    .section .text.interrupts, "ax"
    .code64

.macro STUB vector
    .balign 16
isr_\vector:
    .pushsection .rodata.isr_table, "a"
    .quad isr_\vector
    .popsection
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp trap_common
.endm

.altmacro
.macro STUBS from, to
    STUB \from
    .if \to-\from
    STUBS %(\from+1), \to
    .endif
.endm

    STUBS 0, 47
    STUB 255  /* local APIC spurious vector */

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    /* Keep the C++ frame 16-byte aligned whatever the interrupted rsp was. */
    movq %rsp, %rbx
    andq $-16, %rsp
    call trap_dispatch
    movq %rbx, %rsp
    .global trap_return
trap_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq
