/* The boot task graph, checked and resolved at build time by
 * cmake/gen_boot_graph.py (empty in the first stage, which is never booted:
 * a kernel without it panics saying so). In .ksyms: generated from stage 1
 * like the symbol table below, and last in rodata for the same reason.
 * First: the section's start is aligned for its words, the bytes after it
 * need no alignment, so nothing pads either. */
    .section .ksyms, "a"
    .balign 4
    .global __boot_graph_start, __boot_graph_end
__boot_graph_start:
#ifdef EXO_BOOT_GRAPH_FILE
    .incbin EXO_BOOT_GRAPH_FILE
#endif
__boot_graph_end:

/* The embedded symbol table. EXO_KSYMS_FILE is the generated blob in the
 * final link and an empty file in the first stage. */
    .global __ksyms_start, __ksyms_end
__ksyms_start:
    .incbin EXO_KSYMS_FILE
__ksyms_end:
