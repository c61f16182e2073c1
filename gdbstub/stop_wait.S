/* void stub_wait_for_byte(void)
 * The stopped kernel's idle: unless a byte already waits on COM2 (gdb) or
 * COM1 (the Ctrl-] escape), HLT until an NMI (both lines are routed as NMIs
 * while stopped; IF is clear). Spinning on the UARTs instead kept a host
 * core busy and took QEMU's lock at every status read, which the thread
 * handing over gdb's bytes needs. A byte that lands between the checks and
 * the HLT raises its NMI there: on_nmi then moves the return address past
 * the HLT (stub_wait_for_byte..stub_wait_window_end), so it never sleeps on
 * a waiting byte. In the debugger's no-breakpoint section. */
    .section .text.nobreak, "ax"
    .code64
    .global stub_wait_for_byte, stub_wait_window_end
stub_wait_for_byte:
    movw $0x2FD, %dx            /* COM2 LSR */
    inb %dx, %al
    testb $1, %al               /* data ready */
    jnz stub_wait_window_end
    movw $0x3FD, %dx            /* COM1 LSR */
    inb %dx, %al
    testb $1, %al
    jnz stub_wait_window_end
    hlt
stub_wait_window_end:
    ret
