/* The embedded symbol table. EXO_KSYMS_FILE is the generated blob in the
 * final link and an empty file in the first stage. */
    .section .ksyms, "a"
    .global __ksyms_start, __ksyms_end
__ksyms_start:
    .incbin EXO_KSYMS_FILE
__ksyms_end:
    .byte 0
