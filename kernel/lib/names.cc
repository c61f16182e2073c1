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

bool equals_name(const char* text, size_t length, const char* name)
{
    return __builtin_strlen(name) == length && __builtin_memcmp(text, name, length) == 0;
}

}  // namespace exo
