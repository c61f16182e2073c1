// The target description gdb fetches with qXfer:features:read (GDB manual,
// "Target Descriptions"). One document, registers in GdbRegister order.
#pragma once

#include <stddef.h>

namespace exo {

struct XmlDocument {
    const char* text = nullptr;
    size_t length = 0;
};

constexpr const char* kTargetXmlAnnex = "target.xml";

// The document named `annex` (not NUL-terminated), or an empty one.
XmlDocument find_target_xml(const char* annex, size_t annex_length);

}  // namespace exo
