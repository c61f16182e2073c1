// Reads a fuzzer's input as a stream of choices taken from the front: a
// number, a flag, a run of bytes. Past the end every read yields zeros, so
// any input decodes to some valid sequence of operations.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <string>
#include <vector>

namespace exo::fuzz {

class FuzzInput {
public:
    FuzzInput(const uint8_t* data, size_t size) : m_p(data), m_end(data + size) {}

    bool empty() const { return m_p == m_end; }
    size_t left() const { return static_cast<size_t>(m_end - m_p); }

    // Little-endian, zero-filled once the input runs out.
    template<typename T>
    T take()
    {
        T value {};
        size_t n = sizeof(T) < left() ? sizeof(T) : left();
        memcpy(&value, m_p, n);
        m_p += n;
        return value;
    }

    uint8_t byte() { return take<uint8_t>(); }
    bool flag() { return (byte() & 1) != 0; }
    // A value in [0, n); n > 0.
    size_t below(size_t n) { return take<uint16_t>() % n; }

    // Up to `n` bytes (fewer at the end of the input).
    std::vector<uint8_t> bytes(size_t n)
    {
        n = n < left() ? n : left();
        std::vector<uint8_t> out(m_p, m_p + n);
        m_p += n;
        return out;
    }

    std::string text(size_t n)
    {
        std::vector<uint8_t> b = bytes(n);
        return std::string(b.begin(), b.end());
    }

    // Everything left.
    std::vector<uint8_t> rest() { return bytes(left()); }

private:
    const uint8_t* m_p;
    const uint8_t* m_end;
};

}  // namespace exo::fuzz
