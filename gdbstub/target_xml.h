// The target description gdb fetches with qXfer:features:read (GDB manual,
// "Target Descriptions"). One document, registers in GdbRegister order. It is
// generated on the fly from a compact register table rather than stored:
// the stored text cost ~1.8 KiB of a tight kernel image.
#pragma once

#include <stddef.h>

namespace exo {

constexpr const char* kTargetXmlAnnex = "target.xml";

bool is_target_xml_annex(const char* annex, size_t annex_length);

// Emits the characters [offset, offset + count) of the document through
// put(ctx, c); returns the document's total length.
using XmlPutFn = void (*)(void* ctx, char c);
size_t emit_target_xml(size_t offset, size_t count, XmlPutFn put, void* ctx);

}  // namespace exo
