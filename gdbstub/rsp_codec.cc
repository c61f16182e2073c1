#include "gdbstub/rsp_codec.h"

#include "gdbstub/hex.h"

namespace exo {

namespace {

constexpr uint16_t kBadChecksum = 0x100;  // never equals an 8-bit sum

constexpr bool needs_escape(char c)
{
    return c == kRspStart || c == kRspEnd || c == kRspEscape || c == kRspRunLength;
}

}  // namespace

// noipa: LTO would otherwise specialise it on the kernel's one codec (inside
// the global stub), and every field access would be a 7-10 byte RIP-relative
// instruction instead of a short register-relative one.
__attribute__((noipa)) RspEvent RspCodec::feed(uint8_t byte)
{
    char c = static_cast<char>(byte);
    if (c == kRspStart) {
        // A `$` can only start a packet: inside one it would be escaped.
        if (m_state != State::Idle)
            ++m_counters.resyncs;
        start_packet();
        return RspEvent::None;
    }
    switch (m_state) {
    case State::Idle:
        if (c == kRspAck)
            on_ack();
        else if (c == kRspNak)
            on_nak();
        else if (byte == kRspInterrupt) {
            ++m_counters.interrupts;
            return RspEvent::Interrupt;
        } else
            ++m_counters.noise;
        return RspEvent::None;
    case State::Body:
        if (c == kRspEnd) {
            m_state = State::Checksum1;
            return RspEvent::None;
        }
        m_sum = static_cast<uint8_t>(m_sum + byte);
        if (m_escaped) {
            c = static_cast<char>(byte ^ kRspEscapeXor);
            m_escaped = false;
        } else if (c == kRspEscape) {
            m_escaped = true;
            return RspEvent::None;
        }
        if (m_rx_length < kRspPacketSize)
            m_rx[m_rx_length++] = c;
        else
            m_overflow = true;
        return RspEvent::None;
    case State::Checksum1:
    case State::Checksum2: {
        int digit = hex_value(c);
        m_received_sum = static_cast<uint16_t>(m_received_sum << 4 | (digit == kNotHex ? kBadChecksum : digit));
        if (m_state == State::Checksum1) {
            m_state = State::Checksum2;
            return RspEvent::None;
        }
        return end_packet();
    }
    }
    return RspEvent::None;
}

void RspCodec::start_packet()
{
    m_state = State::Body;
    m_sum = 0;
    m_received_sum = 0;
    m_rx_length = 0;
    m_escaped = false;
    m_overflow = false;
}

RspEvent RspCodec::end_packet()
{
    m_state = State::Idle;
    m_rx[m_rx_length] = '\0';
    bool acking = m_ack == RspAckMode::On;
    if (m_received_sum != m_sum) {
        ++m_counters.bad_checksums;
        if (acking)
            write(&kRspNak, 1);
        return RspEvent::None;
    }
    if (acking)
        write(&kRspAck, 1);
    if (m_overflow) {
        ++m_counters.oversized;
        return RspEvent::Oversized;
    }
    ++m_counters.packets_in;
    return RspEvent::Packet;
}

void RspCodec::on_ack()
{
    if (m_ack == RspAckMode::Off) {
        m_ack = RspAckMode::On;
        return;
    }
    m_awaiting_ack = false;
    if (m_no_ack_pending) {
        m_no_ack_pending = false;
        m_ack = RspAckMode::Off;
    }
}

void RspCodec::on_nak()
{
    if (!m_awaiting_ack) {
        ++m_counters.noise;
        return;
    }
    if (m_retries == kRspMaxRetransmits) {
        ++m_counters.gave_up;
        m_awaiting_ack = false;
        return;
    }
    ++m_retries;
    ++m_counters.retransmits;
    transmit();
}

void RspCodec::request_no_ack()
{
    if (m_ack == RspAckMode::On)
        m_no_ack_pending = true;
}

// Out of line: inlined, its two stores cost more than a call at each of the
// stub's replies.
__attribute__((noinline)) void RspCodec::begin_reply()
{
    m_tx_length = 0;
    m_tx_truncated = false;
}

void RspCodec::put(char c)
{
    if (m_tx_length < kRspPacketSize)
        m_tx[m_tx_length++] = c;
    else
        m_tx_truncated = true;
}

void RspCodec::put(const char* text)
{
    while (*text != '\0')
        put(*text++);
}

void RspCodec::put_hex_byte(uint8_t byte)
{
    put(hex_digit(byte >> 4));
    put(hex_digit(byte));
}

void RspCodec::put_number(uint64_t value)
{
    int shift = 60;
    while (shift > 0 && (value >> shift) == 0)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        put(hex_digit(static_cast<unsigned>(value >> shift)));
}

void RspCodec::put_le(uint64_t value, size_t bytes)
{
    for (size_t i = 0; i < bytes; ++i, value >>= 8)
        put_hex_byte(static_cast<uint8_t>(value));
}

void RspCodec::send_reply()
{
    ++m_counters.packets_out;
    m_retries = 0;
    m_awaiting_ack = m_ack == RspAckMode::On;
    transmit();
}

void RspCodec::transmit()
{
    uint8_t sum = 0;
    write(&kRspStart, 1);
    const char* run = m_tx;
    const char* end = m_tx + m_tx_length;
    for (const char* p = m_tx; p != end; ++p) {
        if (!needs_escape(*p)) {
            sum = static_cast<uint8_t>(sum + *p);
            continue;
        }
        write(run, static_cast<size_t>(p - run));
        char escaped[2] = { kRspEscape, static_cast<char>(*p ^ kRspEscapeXor) };
        sum = static_cast<uint8_t>(sum + escaped[0] + escaped[1]);
        write(escaped, 2);
        run = p + 1;
    }
    write(run, static_cast<size_t>(end - run));
    char tail[3] = { kRspEnd, hex_digit(sum >> 4), hex_digit(sum) };
    write(tail, 3);
}

}  // namespace exo
