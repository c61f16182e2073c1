#include "shell/print.h"

namespace exo {

void print_v(Output& out, const char* fmt, FormatSig sig, ...)
{
    EXO_DECODE_FORMAT_ARGS(sig, args, count)
    Sink sink { [](void* ctx, const char* s, size_t n) { static_cast<Output*>(ctx)->write(s, n); }, &out };
    format_impl(sink, fmt, args, count);
}

}  // namespace exo
