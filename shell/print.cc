#include "shell/print.h"

namespace exo {

void print_v(Output& out, const char* fmt, FormatSig sig, ...)
{
    EXO_DECODE_FORMAT_ARGS(sig, args, count)
    format_impl(out.sink(), fmt, args, count);
}

}  // namespace exo
