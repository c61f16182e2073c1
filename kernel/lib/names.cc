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

size_t name_index(const char* packed, const char* name)
{
    size_t index = 0;
    for (; *packed != '\0' && __builtin_strcmp(packed, name) != 0; packed += __builtin_strlen(packed) + 1)
        ++index;
    return index;
}

bool equals_name(const char* text, size_t length, const char* name)
{
    return __builtin_strlen(name) == length && __builtin_memcmp(text, name, length) == 0;
}

}  // namespace exo
