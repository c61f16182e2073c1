/* Exo-OS entry: Multiboot2 header, PVH ELF note, and the 32-bit trampoline
 * that builds the kernel's page tables, enters long mode and jumps to the
 * higher half. Both boot protocols leave us in 32-bit protected mode with paging
 * off; they differ only in what EAX/EBX hold.
 *
 *   Multiboot2 (spec 3.3 "I386 machine state"): EAX = 0x36d76289, EBX = info.
 *   PVH (Xen docs "x86/HVM direct boot ABI"): EBX = hvm_start_info, EAX undefined.
 */

#define KERNEL_VMA          0xFFFFFFFF80000000
#define MB2_HEADER_MAGIC    0xE85250D6
#define MB2_ARCH_I386       0
#define PVH_MARKER          0x336EC578  /* hvm_start_info magic, used as our "booted via PVH" tag */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_PE   (1 << 0)
#define CR0_WP   (1 << 16)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define PTE_P    (1 << 0)
#define PTE_W    (1 << 1)
#define PTE_PS   (1 << 7)
#define PTE_G    (1 << 8)
#define COM1     0x3F8

#define PHYS(sym) ((sym) - KERNEL_VMA)

/* ---- Multiboot2 header (spec 3.1.1), must sit in the first 32 KiB, 8-aligned. */
    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    /* end tag */
    .short 0
    .short 0
    .long 8
mb2_header_end:

/* ---- PVH entry note: QEMU -kernel and other PVH loaders jump here. */
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                         /* namesz: "Xen\0" */
    .long 4                         /* descsz: 32-bit physical entry */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long _start_pvh

/* ---- 32-bit trampoline, linked and run at its physical address. */
    .section .boot.text, "ax"
    .code32
    .global _start_multiboot
_start_multiboot:
    movl %eax, %esi
    jmp common32

    .global _start_pvh
_start_pvh:
    movl $PVH_MARKER, %esi

common32:
    /* The TSC here is t=0 of the kernel's own boot work (one or two
     * instructions in: both entries share the code that keeps it). */
    rdtsc
    movl %eax, boot_tsc_entry
    movl %edx, boot_tsc_entry + 4
    movl %esi, boot_magic
    movl %ebx, boot_info_phys
    cli
    cld
    /* The boot stack's top, by its physical address: paging is still off. */
    movl $PHYS(boot_stack_top), %esp

    /* Long mode needs CPUID 0x80000001 EDX.LM (bit 29). */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz no_long_mode
    /* XD in the high dword of every non-text PTE, if the CPU has NX
     * (EDX bit 20): without EFER.NXE the bit is reserved and would fault. */
    xorl %ebp, %ebp
    testl $(1 << 20), %edx
    jz 1f
    movl $0x80000000, %ebp
1:
    /* Zero .boot.bss (the tables below) and .bss but its stacks: GRUB's and
     * QEMU's ELF loaders zero p_memsz beyond p_filesz, but a loader that
     * does not must not leave us garbage for globals and page tables. */
    xorl %eax, %eax
    movl $__boot_bss_start, %edi
    movl $__boot_bss_end, %ecx
    call zero_range
    movl $PHYS(__bss_zero_start), %edi
    movl $PHYS(__bss_end), %ecx
    call zero_range

    /* These are the kernel's own tables, not a throwaway set: kernel/mm
     * adopts them, so boot builds no tables in C++ (under TCG every distinct
     * instruction run at boot costs ~1.2 us to translate; this is ~40).
     *   PML4[0] and PML4[256] (the direct map, kDirectMapBase) -> the first
     *   1 GiB in 2 MiB pages. kernel/mm drops the identity slot and trims
     *   the direct map to RAM once it has the memory map.
     *   PML4[511] -> PDPT[510] -> PD[0] -> one PT: the image in 4 KiB pages,
     *   text R-X, rodata R--, data and bss RW- (W^X from the first
     *   instruction in the higher half). */
    movl $boot_pdpt_low + (PTE_P | PTE_W), boot_pml4
    movl $boot_pdpt_low + (PTE_P | PTE_W), boot_pml4 + 256 * 8
    movl $boot_pdpt_high + (PTE_P | PTE_W), boot_pml4 + 511 * 8
    movl $boot_pd + (PTE_P | PTE_W), boot_pdpt_low
    movl $boot_pd_high + (PTE_P | PTE_W), boot_pdpt_high + 510 * 8
    movl $boot_pt_image + (PTE_P | PTE_W), boot_pd_high

    /* Four entries per loop step: under TCG each step is one translated
     * block execution (~45 ns), so 128 steps instead of 512. */
    movl $boot_pd, %edi
    movl $(PTE_P | PTE_W | PTE_PS), %eax
    movl $128, %ecx
1:  movl %eax, (%edi)
    addl $0x200000, %eax
    movl %eax, 8(%edi)
    addl $0x200000, %eax
    movl %eax, 16(%edi)
    addl $0x200000, %eax
    movl %eax, 24(%edi)
    addl $0x200000, %eax
    addl $32, %edi
    loop 1b

    /* The image below 2 MiB: its PT index is its physical page number. */
    movl $PHYS(__text_start), %eax
    movl $PHYS(__rodata_start), %ecx
    movl $(PTE_P | PTE_G), %edx
    xorl %ebx, %ebx
    call map_image
    movl $PHYS(__data_start), %ecx
    movl %ebp, %ebx
    call map_image
    movl $PHYS(__kernel_end), %ecx
    orl $PTE_W, %edx
    call map_image

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    testl %ebp, %ebp
    jz 1f
    orl $EFER_NXE, %eax
1:  wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_WP | CR0_PE), %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_low

/* PTEs for the physical pages [eax, ecx) (page aligned, below 2 MiB): low
 * dword eax | edx, high dword ebx. Returns eax = ecx. */
map_image:
    movl %eax, %edi
    shrl $9, %edi
    addl $boot_pt_image, %edi
2:  movl %eax, %esi
    orl %edx, %esi
    movl %esi, (%edi)
    movl %ebx, 4(%edi)
    addl $8, %edi
    addl $4096, %eax
    cmpl %ecx, %eax
    jb 2b
    ret

/* Zero [edi, ecx), 64-byte aligned, with eax = 0. Eight stores per loop
 * step: under TCG each step is one block execution (~45 ns), and rep stos
 * is one per element (~1 ms for these ~90 KiB). */
zero_range:
1:  movl %eax, (%edi)
    .irp off, 4, 8, 12, 16, 20, 24, 28
    movl %eax, \off(%edi)
    .endr
    addl $32, %edi
    cmpl %ecx, %edi
    jb 1b
    ret

no_long_mode:
    movl $no_lm_msg, %esi
    movw $COM1, %dx
2:  lodsb
    testb %al, %al
    jz 3f
    outb %al, %dx
    jmp 2b
3:  hlt
    jmp 3b

    .code64
long_mode_low:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $long_mode_high, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code, DPL0 */
    .quad 0x00CF92000000FFFF        /* 0x10: data, DPL0 */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt
no_lm_msg:
    .asciz "Exo-OS: no long mode; halting\r\n"

    .global boot_tsc_entry, boot_magic, boot_info_phys
    .balign 8
boot_tsc_entry: .quad 0
boot_magic:     .long 0
boot_info_phys: .long 0

    .section .boot.bss, "aw", @nobits
    /* Page aligned by linker.ld (an alignment here would pad the file). */
    .global boot_pml4, boot_pd, boot_pt_image
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096
boot_pd_high:   .skip 4096
boot_pt_image:  .skip 4096

/* ---- Higher half. */
    .section .text.entry, "ax"
    .code64
    .cfi_sections .debug_frame
long_mode_high:
    .cfi_startproc
    .cfi_undefined rip      /* the boot (idle) thread's outermost frame */
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_magic, %edi
    movl boot_info_phys, %esi
    movq boot_tsc_entry, %rdx
    call kernel_main
4:  cli
    hlt
    jmp 4b
    .cfi_endproc

    .section .bss.stacks, "aw", @nobits
    .balign 4096
    /* Left unmapped by kernel/mm/memory_hw.cc: an overflow faults (on the
     * #DF IST stack) instead of silently corrupting .bss. */
    .global boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:
    .skip 4096
boot_stack_bottom:
    .skip 8192      /* boot tasks, then the idle thread: 3.8 KiB used */
boot_stack_top:
    /* The shell thread's stack, static so that starting the shell maps
     * nothing (kernel/boot/kernel_main_hw.cc): same size and guard as a
     * kernel_stack_hw stack. */
    .global shell_stack_guard, shell_stack_bottom
shell_stack_guard:
    .skip 4096
shell_stack_bottom:
    .skip 8192
