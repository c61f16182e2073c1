// GDB Remote Serial Protocol framing, one byte at a time, no heap.
// Receive: `$body#cc` with a modulo-256 checksum over the raw body, `}`-escapes
// decoded, `+`/`-` acknowledgements, Ctrl-C (0x03) between packets.
// Transmit: frame a reply built in place, escape what must be escaped, keep it
// for retransmission when gdb answers `-`.
// Reference: GDB manual, appendix "GDB Remote Serial Protocol", sections
// "Overview", "Packet Acknowledgment" and "Interrupts".
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

constexpr char kRspStart = '$';
constexpr char kRspEnd = '#';
constexpr char kRspEscape = '}';
constexpr uint8_t kRspEscapeXor = 0x20;  // escaped byte = original ^ 0x20
constexpr char kRspRunLength = '*';      // must be escaped in output ("Overview")
constexpr char kRspAck = '+';
constexpr char kRspNak = '-';
constexpr uint8_t kRspInterrupt = 0x03;  // Ctrl-C outside a packet ("Interrupts")

// Largest body either side handles; advertised as PacketSize in qSupported.
constexpr size_t kRspPacketSize = 0x800;  // the g reply (664 hex digits) fits with room
// Retransmissions of one reply after `-` before giving up on it.
constexpr uint8_t kRspMaxRetransmits = 3;

// Where framed bytes go (same shape as exo::Sink and the shell's Output).
using RspWriteFn = void (*)(void* ctx, const char* data, size_t length);

enum class RspAckMode : uint8_t { On, Off };

enum class RspEvent : uint8_t {
    None,       // byte consumed, nothing complete yet
    Packet,     // a packet with a good checksum is in packet()
    Oversized,  // a packet with a good checksum did not fit; answer an error
    Interrupt,  // Ctrl-C outside a packet
};

struct RspCounters {
    uint32_t packets_in = 0;     // good packets received (oversized excluded)
    uint32_t packets_out = 0;    // replies sent, retransmissions excluded
    uint32_t bad_checksums = 0;  // received packets dropped for their checksum
    uint32_t retransmits = 0;    // replies sent again after `-`
    uint32_t gave_up = 0;        // `-` received after the last retransmission
    uint32_t resyncs = 0;        // `$` inside a packet restarted collection
    uint32_t oversized = 0;      // packets longer than kRspPacketSize
    uint32_t interrupts = 0;     // Ctrl-C bytes
    uint32_t noise = 0;          // bytes outside packets that mean nothing
};

class RspCodec {
public:
    // All-zero when default-constructed, so a constinit instance (with its
    // packet buffers) lands in .bss; bind() before use.
    constexpr RspCodec() = default;
    constexpr RspCodec(RspWriteFn write, void* ctx) : m_write(write), m_ctx(ctx) {}
    void bind(RspWriteFn write, void* ctx)
    {
        m_write = write;
        m_ctx = ctx;
    }

    RspEvent feed(uint8_t byte);

    // The decoded body of the last Packet event, NUL-terminated and writable
    // (handlers decode hex in place). Valid until the next feed().
    char* packet() { return m_rx; }
    size_t packet_length() const { return m_rx_length; }

    // Build a reply in place, then send it. Appends past the capacity are
    // dropped and flagged; callers size their replies to fit.
    void begin_reply();
    void put(char c);
    void put(const char* text);
    void put_hex_byte(uint8_t byte);
    void put_number(uint64_t value);              // big-endian, no leading zeros
    void put_le(uint64_t value, size_t bytes);    // a register image
    char* reply_end() { return m_tx + m_tx_length; }
    size_t reply_length() const { return m_tx_length; }
    size_t reply_room() const { return kRspPacketSize - m_tx_length; }
    void grow_reply(size_t count) { m_tx_length += count <= reply_room() ? count : reply_room(); }
    bool reply_truncated() const { return m_tx_truncated; }
    void send_reply();

    // Acknowledgements stop once gdb has acknowledged the reply just sent
    // (the OK to QStartNoAckMode). A `+` seen in no-ack mode means a new gdb
    // is talking (every session opens with `+`), so acks come back on.
    void request_no_ack();
    RspAckMode ack_mode() const { return m_ack; }

    const RspCounters& counters() const { return m_counters; }

private:
    enum class State : uint8_t { Idle, Body, Checksum1, Checksum2 };

    void start_packet();
    RspEvent end_packet();
    void on_ack();
    void on_nak();
    void transmit();
    void write(const char* data, size_t length) { m_write(m_ctx, data, length); }

    RspWriteFn m_write = nullptr;
    void* m_ctx = nullptr;
    RspCounters m_counters {};
    State m_state = State::Idle;
    RspAckMode m_ack = RspAckMode::On;
    bool m_no_ack_pending = false;
    bool m_escaped = false;
    bool m_overflow = false;
    bool m_awaiting_ack = false;
    bool m_tx_truncated = false;
    uint8_t m_sum = 0;
    uint16_t m_received_sum = 0;  // > 0xFF once a checksum digit is not hex
    uint8_t m_retries = 0;
    size_t m_rx_length = 0;
    size_t m_tx_length = 0;
    char m_rx[kRspPacketSize + 1] {};
    char m_tx[kRspPacketSize] {};
};

}  // namespace exo
