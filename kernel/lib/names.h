// Names of enum values, packed into one string literal, each name ending in
// an explicit NUL: "first\0second\0" (the literal's own NUL ends the list).
// A lookup is a short loop in one place instead of a compare chain at every
// call site (the kernel builds without jump or switch tables).
#pragma once

#include <stddef.h>

namespace exo {

// The index-th name of `packed`, or "?" past the end.
const char* name_at(const char* packed, size_t index);

// The index of `name` in `packed`, or the number of names there when it is
// not one of them: word lists (a command's arguments) kept this way cost no
// pointer array, and a lookup is one call instead of a strcmp per word.
size_t name_index(const char* packed, const char* name);

// Whether text[0..length) is exactly the NUL-terminated `name` (the kernel
// has memcmp and strlen but no strcmp). One copy for every caller.
bool equals_name(const char* text, size_t length, const char* name);

}  // namespace exo
