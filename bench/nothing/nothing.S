/*
 * The do-nothing floor kernel for bench/boot.py: the least a 64-bit kernel
 * can do after a boot loader hands it the machine. It enters long mode,
 * prints one line on COM1 and leaves QEMU through isa-debug-exit. Every
 * Exo-OS boot figure is reported as a ratio to this kernel booted the same
 * way in the same run.
 *
 * Two ways in, one 32-bit entry point:
 *   - Multiboot2 (GRUB): header below, EAX = 0x36d76289, EBX = info block.
 *   - PVH (QEMU -kernel on pc and microvm): the Xen ELF note below,
 *     EBX = hvm_start_info.
 * Both enter in 32-bit protected mode with paging off and flat segments,
 * with no promise about GDTR, so we load our own GDT. There is deliberately
 * no Multiboot1 header: QEMU's -kernel would pick it first and refuse an
 * ELF64 ("give a 32bit one").
 */

/* Multiboot2 spec 3.1.1: header magic; architecture 0 = 32-bit i386. */
#define MB2_MAGIC          0xe85250d6
#define MB2_ARCH_I386      0
/* Xen public/elfnote.h: the PVH 32-bit physical entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Intel SDM vol. 3A 4.5: page table entry bits. */
#define PTE_PRESENT        0x001
#define PTE_WRITE          0x002
#define PTE_LARGE          0x080   /* PS: 2 MiB page in a PD entry */
#define CR4_PAE            0x020   /* SDM 2.5 */
#define CR0_PE             0x00000001
#define CR0_PG             0x80000000
#define MSR_EFER           0xc0000080 /* SDM 2.2.1 */
#define EFER_LME           0x100

#define COM1               0x3f8   /* 8250 THR; QEMU needs no UART init */
#define DEBUG_EXIT_PORT    0xf4    /* QEMU isa-debug-exit, iobase=0xf4 */

#define GDT_CODE64         0x08
#define GDT_DATA           0x10

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    /* End tag (type 0, flags 0, size 8): the ELF headers say where to load. */
    .short 0
    .short 0
    .long 8
mb2_header_end:

    /* The desc is read at name + align_up(namesz, p_align): keep the note
     * segment 4-aligned (see nothing.ld) so QEMU finds it. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                       /* namesz: "Xen\0" */
    .long 4                       /* descsz: 32-bit physical address */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long _start

    .section .text32, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    lgdt gdt_ptr
    /* The boot loader did not promise us a stack. */
    movl $stack_top, %esp

    /* Identity-map the first 2 MiB with one large page: PML4[0] -> PDPT[0]
     * -> PD[0]. The tables live in .bss; zero them ourselves rather than
     * trust every loader to clear memsz beyond filesz. */
    movl $page_tables, %edi
    xorl %eax, %eax
    movl $(3 * 4096 / 4), %ecx
    rep stosl
    movl $(pdpt + PTE_PRESENT + PTE_WRITE), pml4
    movl $(pd + PTE_PRESENT + PTE_WRITE), pdpt
    movl $(PTE_PRESENT + PTE_WRITE + PTE_LARGE), pd

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $GDT_CODE64, $long_mode

    .text
    .code64
long_mode:
    movw $GDT_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    leaq message(%rip), %rsi
    movl $(message_end - message), %ecx
    movw $COM1, %dx
    rep outsb
    /* isa-debug-exit: QEMU exits with status (value << 1) | 1. */
    xorl %eax, %eax
    outb %al, $DEBUG_EXIT_PORT
halt:
    hlt
    jmp halt

    .section .rodata
message:
    .ascii "nothing: up\n"
message_end:

    .balign 8
gdt:
    .quad 0                       /* null */
    .quad 0x00af9a000000ffff      /* 0x08: 64-bit code, DPL 0 (SDM 3.4.5) */
    .quad 0x00cf92000000ffff      /* 0x10: flat data */
gdt_end:
gdt_ptr:
    .short gdt_end - gdt - 1
    .long gdt

    .bss
    .balign 4096
page_tables:
pml4:
    .skip 4096
pdpt:
    .skip 4096
pd:
    .skip 4096
    .balign 16
    .skip 1024
stack_top:

    .section .note.GNU-stack, "", @progbits
