/* Interrupt entry stubs: every vector we install pushes a uniform TrapFrame
 * (kernel/arch/x86_64/trap_frame.h) and calls trap_dispatch(frame). Vectors
 * where the CPU pushes no error code (all but SDM Vol. 3A Table 6-1's 8,
 * 10-14, 17, 21, 29, 30) get a 0 inserted below the vector by
 * trap_no_error_code. */

    .section .text.interrupts, "ax"
    .code64

/* Vectors 0-47: 4-byte stubs (push imm8, short jmp) at isr_stubs + 4 * vector;
 * idt.cc computes the gate addresses, so there is no table of them. A short
 * jmp reaches 127 bytes: stubs 0-17 go through the two jumps just before
 * the array, the rest straight to the code right after it. */
.macro STUB vector
    .balign 4
    pushq $\vector
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .if \vector < 18
    jmp .Lerror_code_low
    .else
    jmp trap_common
    .endif
    .else
    .if \vector < 18
    jmp .Lno_error_code_low
    .else
    jmp trap_no_error_code
    .endif
    .endif
.endm

.altmacro
.macro STUBS from, to
    STUB \from
    .if \to-\from
    STUBS %(\from+1), \to
    .endif
.endm

    .global isr_spurious
isr_spurious:  /* local APIC spurious vector 255 */
    pushq $255
.Lno_error_code_low:
    jmp trap_no_error_code
.Lerror_code_low:
    jmp trap_common

    .balign 4
    .global isr_stubs
isr_stubs:
    STUBS 0, 47
    .org isr_stubs + 48 * 4  /* an error if any stub outgrew its 4 bytes */

trap_no_error_code:
    pushq (%rsp)          /* the vector, one slot down (read before rsp moves) */
    andq $0, 8(%rsp)      /* and a 0 error code where it was */
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
