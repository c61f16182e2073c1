// A fixed-capacity single-producer / single-consumer byte FIFO: the UART
// receive interrupt produces, the shell consumes. Capacity is a power of two
// so indices wrap with a mask; head and tail only grow.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

template<size_t Capacity>
class ByteRing {
    static_assert(Capacity && (Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

public:
    bool push(uint8_t b)
    {
        if (full())
            return false;
        m_data[m_head & (Capacity - 1)] = b;
        ++m_head;
        return true;
    }

    bool pop(uint8_t& out)
    {
        if (empty())
            return false;
        out = m_data[m_tail & (Capacity - 1)];
        ++m_tail;
        return true;
    }

    bool empty() const { return m_head == m_tail; }
    bool full() const { return m_head - m_tail == Capacity; }
    size_t size() const { return m_head - m_tail; }
    static constexpr size_t capacity() { return Capacity; }

private:
    uint8_t m_data[Capacity] {};
    size_t m_head = 0;
    size_t m_tail = 0;
};

}  // namespace exo
