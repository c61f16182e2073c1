#include "kernel/lib/names.h"

namespace exo {

const char* name_at(const char* packed, size_t index)
{
    for (; index != 0; --index) {
        packed += __builtin_strlen(packed) + 1;
        if (*packed == '\0')
            return "?";
    }
    return *packed != '\0' ? packed : "?";
}

}  // namespace exo
