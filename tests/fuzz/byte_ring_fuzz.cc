// The UART's receive ring against a std::deque: every push and pop, on a
// ring of 8 and one of 64 bytes, gives what the deque gives; size, empty
// and full agree after each step. Input: one byte per operation (bit 0:
// push or pop; the rest: the byte pushed).
#include <stdint.h>

#include <deque>

#include "kernel/lib/byte_ring.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

template<size_t Capacity>
void run(const uint8_t* data, size_t size)
{
    exo::ByteRing<Capacity> ring;
    std::deque<uint8_t> model;
    for (size_t i = 0; i < size; ++i) {
        uint8_t op = data[i];
        if (op & 1) {
            uint8_t value = static_cast<uint8_t>(op >> 1);
            bool pushed = ring.push(value);
            FUZZ_CHECK(pushed == (model.size() < Capacity));
            if (pushed)
                model.push_back(value);
        } else {
            uint8_t out = 0xA5;
            bool popped = ring.pop(out);
            FUZZ_CHECK(popped == !model.empty());
            if (popped) {
                FUZZ_CHECK(out == model.front());
                model.pop_front();
            }
        }
        FUZZ_CHECK(ring.size() == model.size());
        FUZZ_CHECK(ring.empty() == model.empty());
        FUZZ_CHECK(ring.full() == (model.size() == Capacity));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    run<8>(data, size);
    run<64>(data, size);
    return 0;
}
