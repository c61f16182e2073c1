// The target description gdb fetches with qXfer:features:read (GDB manual,
// "Target Descriptions"). One document, registers in GdbRegister order. It is
// generated on the fly from a compact register table rather than stored:
// the stored text cost ~1.8 KiB of a tight kernel image.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

// The characters [offset, end) of a document streamed through put(ctx, c),
// the rest only counted (pos ends as the document's length): qXfer reads a
// document in pieces, so each read generates it again and keeps its window.
using XmlPutFn = void (*)(void* ctx, char c);
struct XmlWindow {
    size_t pos;
    size_t offset;
    size_t end;
    XmlPutFn put;
    void* ctx;

    // Up to a NUL, a byte below 4 (fill's markers) or a byte >= 0x80 (which
    // ends a name in target.xml's tables); returns where it stopped.
    const char* text(const char* s);
    // `pattern` with each \1 replaced by `word` (as text() reads it), each
    // \2 by `number` in decimal and each \3 by `number` in hex (no leading
    // zeros: gdb reads "09" as bad octal). One call per element keeps the
    // emitters small.
    void fill(const char* pattern, const char* word, uint64_t number);
};

// target.xml through `w`.
void emit_target_xml(XmlWindow& w);

}  // namespace exo
