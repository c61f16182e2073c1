// The GDB remote protocol codec against a reference written here from the
// GDB manual ("Overview", "Packet Acknowledgment", "Interrupts"): the input
// is the byte stream gdb sends; every packet received is echoed back as the
// reply, so acks, naks and retransmissions, resyncs on `$`, Ctrl-C, bad
// checksums, oversized packets and QStartNoAckMode are all in play. After
// each byte the codec's event, packet and counters and every byte it wrote
// must equal the reference's.
// Then a round trip: the input as one reply body (any bytes, escapes
// included) is framed, fed to a second codec and must come back unchanged;
// put_number and put_le must encode what a hex parser reads back.
#include <stdint.h>
#include <string.h>

#include <string>

#include "gdbstub/hex.h"
#include "gdbstub/rsp_codec.h"
#include "tests/fuzz/fuzz_check.h"

using exo::RspCodec;
using exo::RspEvent;

namespace {

constexpr std::string_view kNoAck = "QStartNoAckMode";

void append(void* ctx, const char* data, size_t length) { static_cast<std::string*>(ctx)->append(data, length); }

// One hex digit, or -1 (kNotHex): the stub's own helper.
int hex(char c) { return exo::hex_value(c); }

// `$body#cc` with `#`, `$`, `}` and `*` escaped as `}` and the byte ^ 0x20;
// the checksum covers the bytes as sent.
std::string frame(const std::string& body)
{
    std::string raw;
    for (char c : body) {
        if (c == '#' || c == '$' || c == '}' || c == '*') {
            raw += '}';
            raw += static_cast<char>(c ^ 0x20);
        } else {
            raw += c;
        }
    }
    unsigned sum = 0;
    for (unsigned char c : raw)
        sum += c;
    char tail[4];
    snprintf(tail, sizeof tail, "#%02x", sum & 0xFF);
    return "$" + raw + tail;
}

// The stub's side of the protocol, from the manual, for comparison only.
struct Reference {
    enum class State { Idle, Body, Sum1, Sum2 } state = State::Idle;
    std::string body;
    bool escaped = false;
    unsigned sum = 0;
    int digits[2] = {};
    bool acks = true;
    bool no_ack_pending = false;
    bool awaiting = false;  // a reply sent in ack mode and not yet acknowledged
    int retries = 0;
    std::string last_frame;
    std::string wire;
    exo::RspCounters counters {};

    RspEvent feed(uint8_t byte)
    {
        char c = static_cast<char>(byte);
        if (c == '$') {  // always starts a packet; inside one it is a resync
            if (state != State::Idle)
                ++counters.resyncs;
            state = State::Body;
            body.clear();
            escaped = false;
            sum = 0;
            return RspEvent::None;
        }
        switch (state) {
        case State::Idle:
            if (c == '+') {
                if (!acks) {
                    acks = true;  // a new gdb starts with `+`
                } else {
                    awaiting = false;
                    if (no_ack_pending) {
                        no_ack_pending = false;
                        acks = false;
                    }
                }
            } else if (c == '-' && awaiting) {
                if (retries == exo::kRspMaxRetransmits) {
                    ++counters.gave_up;
                    awaiting = false;
                } else {
                    ++retries;
                    ++counters.retransmits;
                    wire += last_frame;
                }
            } else if (byte == exo::kRspInterrupt) {
                ++counters.interrupts;
                return RspEvent::Interrupt;
            } else {
                ++counters.noise;
            }
            return RspEvent::None;
        case State::Body:
            if (c == '#') {
                state = State::Sum1;
                return RspEvent::None;
            }
            sum += byte;
            if (escaped) {
                body += static_cast<char>(c ^ 0x20);
                escaped = false;
            } else if (c == '}') {
                escaped = true;
            } else {
                body += c;
            }
            return RspEvent::None;
        case State::Sum1:
            digits[0] = hex(c);
            state = State::Sum2;
            return RspEvent::None;
        case State::Sum2:
            digits[1] = hex(c);
            state = State::Idle;
            break;
        }
        bool good = digits[0] >= 0 && digits[1] >= 0 && (digits[0] << 4 | digits[1]) == static_cast<int>(sum & 0xFF);
        if (acks)
            wire += good ? '+' : '-';
        if (!good) {
            ++counters.bad_checksums;
            return RspEvent::None;
        }
        if (body.size() > exo::kRspPacketSize) {
            ++counters.oversized;
            return RspEvent::Oversized;
        }
        ++counters.packets_in;
        return RspEvent::Packet;
    }

    void reply(const std::string& text)
    {
        ++counters.packets_out;
        last_frame = frame(text);
        wire += last_frame;
        retries = 0;
        awaiting = acks;
    }
};

bool same(const exo::RspCounters& a, const exo::RspCounters& b) { return memcmp(&a, &b, sizeof a) == 0; }

void exchange(const uint8_t* data, size_t size)
{
    std::string wire;
    RspCodec codec(append, &wire);
    Reference ref;
    for (size_t i = 0; i < size; ++i) {
        RspEvent event = codec.feed(data[i]);
        FUZZ_CHECK(event == ref.feed(data[i]));
        if (event == RspEvent::Packet) {
            std::string body(codec.packet(), codec.packet_length());
            FUZZ_CHECK(body == ref.body && codec.packet()[codec.packet_length()] == '\0');
            // Echo it back, as a stub answers every packet.
            codec.begin_reply();
            for (char c : body)
                codec.put(c);
            FUZZ_CHECK(!codec.reply_truncated() && codec.reply_length() == body.size());
            codec.send_reply();
            ref.reply(body);
            if (body == kNoAck) {
                codec.request_no_ack();
                ref.no_ack_pending = ref.acks;
            }
        }
        FUZZ_CHECK(wire == ref.wire);
        FUZZ_CHECK(same(codec.counters(), ref.counters));
        FUZZ_CHECK((codec.ack_mode() == exo::RspAckMode::On) == ref.acks);
    }
}

// Feeds a framed reply to a fresh codec: the packet it decodes.
std::string receive(const std::string& framed)
{
    std::string acks;
    RspCodec codec(append, &acks);
    for (size_t i = 0; i < framed.size(); ++i) {
        RspEvent event = codec.feed(static_cast<uint8_t>(framed[i]));
        FUZZ_CHECK(event == (i + 1 == framed.size() ? RspEvent::Packet : RspEvent::None));
    }
    FUZZ_CHECK(acks == "+");
    return std::string(codec.packet(), codec.packet_length());
}

void round_trip(const uint8_t* data, size_t size)
{
    std::string wire;
    RspCodec codec(append, &wire);
    codec.begin_reply();
    for (size_t i = 0; i < size; ++i)
        codec.put(static_cast<char>(data[i]));
    size_t kept = size < exo::kRspPacketSize ? size : exo::kRspPacketSize;
    FUZZ_CHECK(codec.reply_truncated() == (size > exo::kRspPacketSize));
    FUZZ_CHECK(codec.reply_length() == kept);
    codec.send_reply();
    FUZZ_CHECK(wire == frame(std::string(reinterpret_cast<const char*>(data), kept)));
    FUZZ_CHECK(receive(wire) == std::string(reinterpret_cast<const char*>(data), kept));

    // Numbers: big-endian without leading zeros, and register images.
    uint64_t value = 0;
    memcpy(&value, data, size < 8 ? size : 8);
    size_t bytes = size % 9;
    codec.begin_reply();
    codec.put_number(value);
    codec.put(',');
    codec.put_le(value, bytes);
    std::string text(codec.reply_end() - codec.reply_length(), codec.reply_length());
    size_t comma = text.find(',');
    FUZZ_CHECK(comma != std::string::npos && comma >= 1 && comma <= 16);
    FUZZ_CHECK(comma == 1 || text[0] != '0');
    uint64_t parsed = 0;
    for (size_t i = 0; i < comma; ++i) {
        FUZZ_CHECK(hex(text[i]) >= 0);
        parsed = parsed << 4 | static_cast<uint64_t>(hex(text[i]));
    }
    FUZZ_CHECK(parsed == value);
    FUZZ_CHECK(text.size() - comma - 1 == 2 * bytes);
    for (size_t i = 0; i < bytes; ++i) {
        int hi = hex(text[comma + 1 + 2 * i]);
        int lo = hex(text[comma + 2 + 2 * i]);
        FUZZ_CHECK(hi >= 0 && lo >= 0 && static_cast<uint64_t>(hi << 4 | lo) == (value >> (8 * i) & 0xFF));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    exchange(data, size);
    round_trip(data, size);
    return 0;
}
