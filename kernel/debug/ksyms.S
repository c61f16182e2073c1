/* The embedded symbol table. EXO_KSYMS_FILE is the generated blob in the
 * final link and an empty file in the first stage. */
    .section .ksyms, "a"
    .global __ksyms_start, __ksyms_end
__ksyms_start:
    .incbin EXO_KSYMS_FILE
__ksyms_end:
    .byte 0

/* The boot task graph, checked and resolved at build time by
 * cmake/gen_boot_graph.py (empty in the first stage, which is never booted:
 * a kernel without it panics saying so). In .ksyms: generated from stage 1
 * the same way, and last in rodata for the same reason. */
    .balign 4
    .global __boot_graph_start, __boot_graph_end
__boot_graph_start:
#ifdef EXO_BOOT_GRAPH_FILE
    .incbin EXO_BOOT_GRAPH_FILE
#endif
__boot_graph_end:
