// Multiboot2 and PVH parsing into BootInfo: synthetic blocks for every edge,
// plus a real info block captured from a GRUB boot of our ISO.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include "kernel/boot/boot_info.h"
#include "kernel/boot/multiboot2.h"
#include "kernel/boot/pvh.h"
#include "kernel/mm/frame_allocator.h"

#ifndef EXO_FIXTURE_DIR
#error "EXO_FIXTURE_DIR must name tests/fixtures (a string literal)"
#endif

namespace exo {
namespace {

static_assert(std::is_trivially_copyable_v<BootInfo>);
// constinit-able: the kernel keeps one as a global without a constructor.
constexpr BootInfo empty_info {};
static_assert(empty_info.region_count == 0 && empty_info.total_usable_bytes() == 0);

constexpr uint64_t info_phys = 0x10000;

// ---------------------------------------------------------------------------
// Multiboot2 block builder

class Mb2Builder {
public:
    Mb2Builder()
    {
        put32(0);  // total_size, patched by finish()
        put32(0);  // reserved
    }

    Mb2Builder& tag(uint32_t type, const std::vector<uint8_t>& payload)
    {
        put32(type);
        put32(uint32_t(8 + payload.size()));
        m_bytes.insert(m_bytes.end(), payload.begin(), payload.end());
        pad();
        return *this;
    }
    // A tag whose header claims `size` regardless of what follows.
    Mb2Builder& raw_tag(uint32_t type, uint32_t size)
    {
        put32(type);
        put32(size);
        return *this;
    }
    Mb2Builder& bytes(const std::vector<uint8_t>& raw)
    {
        m_bytes.insert(m_bytes.end(), raw.begin(), raw.end());
        return *this;
    }
    Mb2Builder& string_tag(uint32_t type, const std::string& s)
    {
        std::vector<uint8_t> p(s.begin(), s.end());
        p.push_back(0);
        return tag(type, p);
    }
    struct Entry {
        uint64_t base, length;
        uint32_t type;
    };
    Mb2Builder& mmap(const std::vector<Entry>& entries, uint32_t entry_size = 24)
    {
        std::vector<uint8_t> p;
        append32(p, entry_size);
        append32(p, 0);
        for (const Entry& e : entries) {
            size_t start = p.size();
            append64(p, e.base);
            append64(p, e.length);
            append32(p, e.type);
            p.resize(start + entry_size, 0);
        }
        return tag(6, p);
    }
    Mb2Builder& end() { return tag(0, {}); }

    size_t offset() const { return m_bytes.size(); }

    // Sets total_size (to the real size unless told otherwise).
    std::vector<uint8_t> finish(uint32_t total_size = 0)
    {
        uint32_t t = total_size ? total_size : uint32_t(m_bytes.size());
        std::memcpy(m_bytes.data(), &t, 4);
        return m_bytes;
    }

    static void append32(std::vector<uint8_t>& v, uint32_t x)
    {
        for (int i = 0; i < 4; ++i)
            v.push_back(uint8_t(x >> (8 * i)));
    }
    static void append64(std::vector<uint8_t>& v, uint64_t x)
    {
        for (int i = 0; i < 8; ++i)
            v.push_back(uint8_t(x >> (8 * i)));
    }

private:
    void put32(uint32_t x) { append32(m_bytes, x); }
    void pad()
    {
        while (m_bytes.size() % 8)
            m_bytes.push_back(0);
    }
    std::vector<uint8_t> m_bytes;
};

std::vector<uint8_t> rsdp_copy(size_t size, uint8_t revision)
{
    std::vector<uint8_t> p(size, 0);
    std::memcpy(p.data(), "RSD PTR ", 8);
    p[15] = revision;
    return p;
}

// Parses a block that is exactly as long as its vector, so ASan flags any
// read past the end.
Result<void> parse(const std::vector<uint8_t>& block, BootInfo& out, uint32_t magic = mb2::boot_magic)
{
    return parse_multiboot2(magic, block.data(), block.size(), info_phys, out);
}

TEST(Multiboot2, MinimalBlockHasNothing)
{
    auto block = Mb2Builder().end().finish();
    ASSERT_EQ(block.size(), 16u);
    BootInfo info;
    ASSERT_TRUE(parse(block, info).ok());
    EXPECT_EQ(info.source, BootSource::Multiboot2);
    EXPECT_EQ(info.region_count, 0u);
    EXPECT_EQ(info.memory_map_status, MemoryMapStatus::Absent);
    EXPECT_EQ(info.cmdline_status, TextStatus::Absent);
    EXPECT_STREQ(info.cmdline, "");
    EXPECT_EQ(info.loader_name_status, TextStatus::Absent);
    EXPECT_FALSE(info.has_rsdp());
    EXPECT_EQ(info.module_count, 0u);
    EXPECT_EQ(info.info_block.base, info_phys);
    EXPECT_EQ(info.info_block.length, 16u);
}

TEST(Multiboot2, FullBlock)
{
    Mb2Builder b;
    b.string_tag(1, "log=verbose deferred=auto")
        .string_tag(2, "GRUB 2.06-13+deb12u1")
        .tag(3, { 0, 0, 0x20, 0, 0, 0, 0x30, 0, 'm', '1', 0 })
        .tag(3, { 0, 0, 0x40, 0, 0, 0, 0x50, 0, 0 })
        .tag(4, { 0x7f, 2, 0, 0, 0, 0x7c, 0, 0 })
        .tag(21, { 1, 2, 3 })       // load base address: not ours to read
        .tag(0x1234, { 9, 9, 9, 9 })  // unknown to the spec: skipped
        .mmap({
            { 0x0, 0x9fc00, 1 },
            { 0x9fc00, 0x400, 2 },
            { 0xf0000, 0x10000, 2 },
            { 0x100000, 0x1ee0000, 1 },
            { 0x1fe0000, 0x10000, 3 },
            { 0x1ff0000, 0x8000, 4 },
            { 0x1ff8000, 0x8000, 5 },
            { 0x2000000, 0x1000, 7 },  // unknown type: reserved
            { 0x3000000, 0, 1 },       // empty: not stored
        });
    size_t acpi_offset = b.offset();
    b.tag(14, rsdp_copy(20, 0)).end();
    auto block = b.finish();

    BootInfo info;
    ASSERT_TRUE(parse(block, info).ok());
    EXPECT_STREQ(info.cmdline, "log=verbose deferred=auto");
    EXPECT_EQ(info.cmdline_status, TextStatus::Complete);
    EXPECT_STREQ(info.loader_name, "GRUB 2.06-13+deb12u1");
    EXPECT_EQ(info.loader_name_status, TextStatus::Complete);
    EXPECT_EQ(info.module_count, 2u);
    EXPECT_EQ(info.rsdp_phys, info_phys + acpi_offset + 8);
    EXPECT_EQ(info.info_block.length, block.size());

    ASSERT_EQ(info.memory_map_status, MemoryMapStatus::Complete);
    ASSERT_EQ(info.region_count, 8u);
    const MemoryType expected[] = { MemoryType::Usable,   MemoryType::Reserved,        MemoryType::Reserved,
                                    MemoryType::Usable,   MemoryType::AcpiReclaimable, MemoryType::AcpiNvs,
                                    MemoryType::Bad,      MemoryType::Reserved };
    for (size_t i = 0; i < 8; ++i)
        EXPECT_EQ(info.regions[i].type, expected[i]) << "region " << i;
    EXPECT_EQ(info.regions[3].base, 0x100000u);
    EXPECT_EQ(info.regions[3].length, 0x1ee0000u);
    EXPECT_EQ(info.total_usable_bytes(), 0x9fc00u + 0x1ee0000u);
    EXPECT_FALSE(info.regions_dropped());
}

TEST(Multiboot2, NewRsdpWinsOverOldInEitherOrder)
{
    Mb2Builder a;
    a.tag(14, rsdp_copy(20, 0));
    size_t new_at = a.offset();
    a.tag(15, rsdp_copy(36, 2)).end();
    BootInfo info;
    ASSERT_TRUE(parse(a.finish(), info).ok());
    EXPECT_EQ(info.rsdp_phys, info_phys + new_at + 8);

    Mb2Builder b;
    size_t new_first = b.offset();
    b.tag(15, rsdp_copy(36, 2)).tag(14, rsdp_copy(20, 0)).end();
    ASSERT_TRUE(parse(b.finish(), info).ok());
    EXPECT_EQ(info.rsdp_phys, info_phys + new_first + 8);
}

TEST(Multiboot2, AcpiTagTooShortForRsdpIsCorrupt)
{
    BootInfo info;
    EXPECT_EQ(parse(Mb2Builder().tag(14, rsdp_copy(19, 0)).end().finish(), info).error(), Error::Corrupt);
    // A v1-sized copy in the "new" tag lacks the XSDT fields.
    EXPECT_EQ(parse(Mb2Builder().tag(15, rsdp_copy(20, 2)).end().finish(), info).error(), Error::Corrupt);
}

TEST(Multiboot2, WrongMagic)
{
    auto block = Mb2Builder().end().finish();
    BootInfo info;
    EXPECT_EQ(parse(block, info, 0x2badb002).error(), Error::InvalidArgument);  // Multiboot 1
    EXPECT_EQ(parse(block, info, 0).error(), Error::InvalidArgument);
}

TEST(Multiboot2, BadWindow)
{
    auto block = Mb2Builder().end().finish();
    BootInfo info;
    EXPECT_EQ(parse_multiboot2(mb2::boot_magic, nullptr, 64, 0, info).error(), Error::InvalidArgument);
    EXPECT_EQ(parse_multiboot2(mb2::boot_magic, block.data(), 7, 0, info).error(), Error::InvalidArgument);
}

TEST(Multiboot2, ReadableLenSmallerThanTotalSize)
{
    auto block = Mb2Builder().string_tag(1, "abc").end().finish();
    BootInfo info;
    EXPECT_EQ(parse_multiboot2(mb2::boot_magic, block.data(), block.size() - 1, 0, info).error(), Error::TooLong);
    EXPECT_TRUE(parse_multiboot2(mb2::boot_magic, block.data(), block.size(), 0, info).ok());
}

TEST(Multiboot2, TotalSizeBelowMinimum)
{
    auto block = Mb2Builder().end().finish(8);  // header only, claims no end tag
    BootInfo info;
    EXPECT_EQ(parse(block, info).error(), Error::Corrupt);
    block = Mb2Builder().end().finish(0xffffffff);  // absurd, larger than the window
    EXPECT_EQ(parse(block, info).error(), Error::TooLong);
}

TEST(Multiboot2, TagRunningPastTotalSize)
{
    // A cmdline tag claiming 64 bytes in a 24-byte block: the parser must
    // stop before reading it (ASan would flag the read).
    auto block = Mb2Builder().raw_tag(1, 64).bytes({ 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' }).finish();
    ASSERT_EQ(block.size(), 24u);
    BootInfo info;
    EXPECT_EQ(parse(block, info).error(), Error::Corrupt);
    // Same with a memory map whose entries would lie past the block.
    block = Mb2Builder().raw_tag(6, 16 + 24 * 4).bytes({ 24, 0, 0, 0, 0, 0, 0, 0 }).finish();
    ASSERT_EQ(block.size(), 24u);
    EXPECT_EQ(parse(block, info).error(), Error::Corrupt);
    // One byte too long is enough.
    block = Mb2Builder().raw_tag(0x99, 17).bytes({ 1, 2, 3, 4, 5, 6, 7, 8 }).finish();
    EXPECT_EQ(parse(block, info).error(), Error::Corrupt);
    // Shorter total_size than the tags present: the end tag lies outside.
    block = Mb2Builder().string_tag(1, "0123456789").end().finish();
    block.resize(24);
    Mb2Builder::append32(block, 0);  // keep size 28, total says 28
    uint32_t total = 28;
    std::memcpy(block.data(), &total, 4);
    EXPECT_EQ(parse(block, info).error(), Error::Corrupt);
}

TEST(Multiboot2, TagSizeBelowHeader)
{
    BootInfo info;
    for (uint32_t size : { 0u, 4u, 7u }) {
        auto block = Mb2Builder().raw_tag(1, size).end().finish();
        EXPECT_EQ(parse(block, info).error(), Error::Corrupt) << "size " << size;
    }
    auto block = Mb2Builder().raw_tag(0, 4).raw_tag(0, 0).finish();  // end tag too small
    EXPECT_EQ(parse(block, info).error(), Error::Corrupt);
}

TEST(Multiboot2, MissingEndTag)
{
    BootInfo info;
    EXPECT_EQ(parse(Mb2Builder().string_tag(1, "x").finish(), info).error(), Error::Corrupt);
    // Tags fill the block exactly but none of them is the end tag.
    EXPECT_EQ(parse(Mb2Builder().tag(0x99, {}).tag(0x99, {}).finish(), info).error(), Error::Corrupt);
    // Last tag is unpadded and its padding would run past total_size.
    auto block = Mb2Builder().tag(0x99, { 1, 2, 3, 4, 5 }).finish();
    block.resize(8 + 8 + 5);
    uint32_t total = uint32_t(block.size());
    std::memcpy(block.data(), &total, 4);
    EXPECT_EQ(parse(block, info).error(), Error::Corrupt);
}

TEST(Multiboot2, FixedFieldsTooShort)
{
    BootInfo info;
    EXPECT_EQ(parse(Mb2Builder().tag(3, { 0, 0, 0, 0 }).end().finish(), info).error(), Error::Corrupt);
    EXPECT_EQ(parse(Mb2Builder().tag(6, { 24, 0, 0, 0 }).end().finish(), info).error(), Error::Corrupt);
    // entry_size smaller than the entry layout
    EXPECT_EQ(parse(Mb2Builder().mmap({ { 0, 0x1000, 1 } }, 16).end().finish(), info).error(), Error::Corrupt);
}

TEST(Multiboot2, LargerMmapEntriesAreSteppedBySize)
{
    auto block = Mb2Builder().mmap({ { 0x1000, 0x2000, 1 }, { 0x8000, 0x1000, 2 } }, 32).end().finish();
    BootInfo info;
    ASSERT_TRUE(parse(block, info).ok());
    ASSERT_EQ(info.region_count, 2u);
    EXPECT_EQ(info.regions[1].base, 0x8000u);
    EXPECT_EQ(info.regions[1].type, MemoryType::Reserved);
}

TEST(Multiboot2, EmptyMmapIsPresentButEmpty)
{
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().mmap({}).end().finish(), info).ok());
    EXPECT_EQ(info.memory_map_status, MemoryMapStatus::Complete);
    EXPECT_EQ(info.region_count, 0u);
}

TEST(Multiboot2, TooManyMmapEntriesAreDropped)
{
    std::vector<Mb2Builder::Entry> entries;
    for (uint64_t i = 0; i < 70; ++i)
        entries.push_back({ i * 0x10000, 0x1000, 1 });
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().mmap(entries).end().finish(), info).ok());
    EXPECT_EQ(info.region_count, BootInfo::max_regions);
    EXPECT_EQ(info.memory_map_status, MemoryMapStatus::Truncated);
    EXPECT_TRUE(info.regions_dropped());
    EXPECT_EQ(info.regions[63].base, 63u * 0x10000);
    EXPECT_EQ(info.total_usable_bytes(), 64u * 0x1000);
}

TEST(Multiboot2, ExactlyFullMapIsNotTruncated)
{
    std::vector<Mb2Builder::Entry> entries;
    for (uint64_t i = 0; i < 64; ++i)
        entries.push_back({ i * 0x10000, 0x1000, 1 });
    entries.push_back({ 0x900000, 0, 1 });  // an empty extra entry loses nothing
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().mmap(entries).end().finish(), info).ok());
    EXPECT_EQ(info.region_count, 64u);
    EXPECT_EQ(info.memory_map_status, MemoryMapStatus::Complete);
}

TEST(Multiboot2, RegionLengthIsClampedAtTopOfAddressSpace)
{
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().mmap({ { 0xfffffffffffff000, 0x10000, 2 } }).end().finish(), info).ok());
    ASSERT_EQ(info.region_count, 1u);
    EXPECT_EQ(info.regions[0].length, 0xfffu);
}

// Found by tests/fuzz/multiboot2_fuzz (corpus regress_region_at_top): the
// clamp left a region of length 0 in the list.
TEST(Multiboot2, RegionAtTheLastAddressIsEmptyAndNotStored)
{
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().mmap({ { 0xffffffffffffffff, 0x1000, 1 }, { 0x100000, 0x1000, 1 } }).end().finish(),
                      info).ok());
    ASSERT_EQ(info.region_count, 1u);
    EXPECT_EQ(info.regions[0].base, 0x100000u);
    EXPECT_EQ(info.memory_map_status, MemoryMapStatus::Complete);
}

TEST(Multiboot2, LongCmdlineIsTruncated)
{
    std::string s(300, 'a');
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().string_tag(1, s).end().finish(), info).ok());
    EXPECT_EQ(info.cmdline_status, TextStatus::Truncated);
    EXPECT_TRUE(info.cmdline_truncated());
    EXPECT_EQ(std::strlen(info.cmdline), 255u);
    EXPECT_EQ(std::string(info.cmdline), s.substr(0, 255));

    // Exactly 255 characters fit.
    ASSERT_TRUE(parse(Mb2Builder().string_tag(1, std::string(255, 'b')).end().finish(), info).ok());
    EXPECT_EQ(info.cmdline_status, TextStatus::Complete);
    EXPECT_EQ(std::strlen(info.cmdline), 255u);
}

TEST(Multiboot2, TruncationDoesNotSplitUtf8)
{
    // 254 ASCII bytes, then a 2-byte "é": only its first byte would fit.
    std::string s = std::string(254, 'a') + "\xc3\xa9" + "tail";
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().string_tag(1, s).end().finish(), info).ok());
    EXPECT_EQ(info.cmdline_status, TextStatus::Truncated);
    EXPECT_EQ(std::string(info.cmdline), std::string(254, 'a'));

    // 253 ASCII + 3-byte "€" cut after two of its bytes.
    s = std::string(253, 'a') + "\xe2\x82\xac";
    ASSERT_TRUE(parse(Mb2Builder().string_tag(1, s).end().finish(), info).ok());
    EXPECT_EQ(std::string(info.cmdline), std::string(253, 'a'));

    // A whole sequence that ends exactly at the limit stays.
    s = std::string(253, 'a') + "\xc3\xa9" + "z";
    ASSERT_TRUE(parse(Mb2Builder().string_tag(1, s).end().finish(), info).ok());
    EXPECT_EQ(std::string(info.cmdline), std::string(253, 'a') + "\xc3\xa9");
}

TEST(Multiboot2, LongLoaderNameIsTruncated)
{
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().string_tag(2, "GRUB " + std::string(100, 'x')).end().finish(), info).ok());
    EXPECT_EQ(info.loader_name_status, TextStatus::Truncated);
    EXPECT_EQ(std::strlen(info.loader_name), 63u);
    EXPECT_EQ(std::string(info.loader_name, 5), "GRUB ");
}

TEST(Multiboot2, UnterminatedStringStopsAtTagEnd)
{
    // No NUL inside the tag: the copy ends at the tag boundary.
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().tag(1, { 'a', 'b', 'c' }).end().finish(), info).ok());
    EXPECT_STREQ(info.cmdline, "abc");
    EXPECT_EQ(info.cmdline_status, TextStatus::Complete);
    // Empty tag payload: an empty string.
    ASSERT_TRUE(parse(Mb2Builder().tag(1, {}).end().finish(), info).ok());
    EXPECT_STREQ(info.cmdline, "");
}

TEST(Multiboot2, OutputIsResetOnEachParse)
{
    BootInfo info;
    ASSERT_TRUE(parse(Mb2Builder().string_tag(1, "first").mmap({ { 0, 0x1000, 1 } }).end().finish(), info).ok());
    ASSERT_TRUE(parse(Mb2Builder().end().finish(), info).ok());
    EXPECT_STREQ(info.cmdline, "");
    EXPECT_EQ(info.region_count, 0u);
}

// ---------------------------------------------------------------------------
// PVH with fake physical memory

struct FakePhys {
    uint64_t base = 0x1000;
    std::vector<uint8_t> mem = std::vector<uint8_t>(0x4000, 0);
    std::vector<PhysRange> holes;  // unreadable ranges inside mem
    size_t reads = 0;

    uint8_t* at(uint64_t phys) { return mem.data() + (phys - base); }
    void put(uint64_t phys, const void* src, size_t len) { std::memcpy(at(phys), src, len); }

    static const uint8_t* read(void* ctx, uint64_t phys, size_t len)
    {
        auto* self = static_cast<FakePhys*>(ctx);
        ++self->reads;
        if (len == 0 || phys < self->base || phys - self->base > self->mem.size() ||
            len > self->mem.size() - (phys - self->base))
            return nullptr;
        for (const PhysRange& h : self->holes) {
            if (phys < h.base + h.length && h.base < phys + len)
                return nullptr;
        }
        return self->mem.data() + (phys - self->base);
    }
};

constexpr uint64_t si_phys = 0x1000;
constexpr uint64_t cmdline_phys = 0x2000;
constexpr uint64_t memmap_phys = 0x3000;

pvh::StartInfo start_info(uint32_t version)
{
    pvh::StartInfo si {};
    si.magic = pvh::start_magic;
    si.version = version;
    si.nr_modules = 1;
    si.cmdline_paddr = cmdline_phys;
    si.rsdp_paddr = 0xf5a40;
    return si;
}

void put_memmap(FakePhys& phys, pvh::StartInfo& si, const std::vector<pvh::MemmapEntry>& entries)
{
    si.memmap_paddr = memmap_phys;
    si.memmap_entries = uint32_t(entries.size());
    phys.put(memmap_phys, entries.data(), entries.size() * sizeof(pvh::MemmapEntry));
}

TEST(Pvh, Version1WithMemmap)
{
    FakePhys phys;
    auto si = start_info(1);
    put_memmap(phys, si,
               {
                   { 0x0, 0x9fc00, 1, 0 },
                   { 0x9fc00, 0x400, 2, 0 },
                   { 0x100000, 0x1ee0000, 1, 0 },
                   { 0x1fe0000, 0x10000, 3, 0 },
                   { 0x1ff0000, 0x8000, 4, 0 },
                   { 0x1ff8000, 0x4000, 5, 0 },
                   { 0x1ffc000, 0x2000, 6, 0 },
                   { 0x1ffe000, 0x2000, 7, 0 },
                   { 0x2000000, 0x1000, 99, 0 },
               });
    phys.put(si_phys, &si, sizeof(si));
    phys.put(cmdline_phys, "console=ttyS0 log=quiet", 24);

    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.source, BootSource::Pvh);
    EXPECT_STREQ(info.loader_name, "PVH");
    EXPECT_STREQ(info.cmdline, "console=ttyS0 log=quiet");
    EXPECT_EQ(info.cmdline_status, TextStatus::Complete);
    EXPECT_EQ(info.rsdp_phys, 0xf5a40u);
    EXPECT_EQ(info.module_count, 1u);
    EXPECT_EQ(info.info_block.base, si_phys);
    EXPECT_EQ(info.info_block.length, 56u);
    ASSERT_EQ(info.memory_map_status, MemoryMapStatus::Complete);
    ASSERT_EQ(info.region_count, 9u);
    const MemoryType expected[] = { MemoryType::Usable,   MemoryType::Reserved, MemoryType::Usable,
                                    MemoryType::AcpiReclaimable, MemoryType::AcpiNvs, MemoryType::Bad,
                                    MemoryType::Reserved, MemoryType::Reserved, MemoryType::Reserved };
    for (size_t i = 0; i < 9; ++i)
        EXPECT_EQ(info.regions[i].type, expected[i]) << "region " << i;
    EXPECT_EQ(info.total_usable_bytes(), 0x9fc00u + 0x1ee0000u);
}

TEST(Pvh, Version0HasNoMemmapAndReadsOnly40Bytes)
{
    FakePhys phys;
    auto si = start_info(0);
    // Put the v0 structure flush against the end of readable memory: a
    // 56-byte read would fail, so success proves only 40 bytes were asked for.
    uint64_t at = phys.base + phys.mem.size() - pvh::start_info_v0_size;
    phys.put(at, &si, pvh::start_info_v0_size);
    phys.put(cmdline_phys, "", 1);

    BootInfo info;
    ASSERT_TRUE(parse_pvh(at, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.memory_map_status, MemoryMapStatus::Absent);
    EXPECT_EQ(info.region_count, 0u);
    EXPECT_EQ(info.total_usable_bytes(), 0u);
    EXPECT_EQ(info.info_block.length, 40u);
    EXPECT_STREQ(info.cmdline, "");
    EXPECT_EQ(info.cmdline_status, TextStatus::Complete);
}

TEST(Pvh, BadMagic)
{
    FakePhys phys;
    auto si = start_info(1);
    si.magic = mb2::boot_magic;
    phys.put(si_phys, &si, sizeof(si));
    BootInfo info;
    EXPECT_EQ(parse_pvh(si_phys, &FakePhys::read, &phys, info).error(), Error::InvalidArgument);
}

TEST(Pvh, BadArguments)
{
    FakePhys phys;
    BootInfo info;
    EXPECT_EQ(parse_pvh(si_phys, nullptr, &phys, info).error(), Error::InvalidArgument);
    EXPECT_EQ(parse_pvh(0, &FakePhys::read, &phys, info).error(), Error::InvalidArgument);
}

TEST(Pvh, StartInfoUnreadable)
{
    FakePhys phys;
    BootInfo info;
    EXPECT_EQ(parse_pvh(0x100000, &FakePhys::read, &phys, info).error(), Error::NotMapped);

    // v1 magic readable but the v1 tail falls in a hole.
    auto si = start_info(1);
    phys.put(si_phys, &si, sizeof(si));
    phys.holes.push_back({ si_phys + 48, 8 });
    EXPECT_EQ(parse_pvh(si_phys, &FakePhys::read, &phys, info).error(), Error::NotMapped);
}

TEST(Pvh, CmdlinePointerUnreadable)
{
    FakePhys phys;
    auto si = start_info(0);
    si.cmdline_paddr = 0x900000;  // outside fake memory
    phys.put(si_phys, &si, sizeof(si));
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.cmdline_status, TextStatus::Unreadable);
    EXPECT_STREQ(info.cmdline, "");
}

TEST(Pvh, CmdlineRunningIntoUnreadableMemory)
{
    FakePhys phys;
    auto si = start_info(0);
    phys.put(si_phys, &si, sizeof(si));
    std::memset(phys.at(cmdline_phys), 'x', 16);
    phys.holes.push_back({ cmdline_phys + 16, 1 });  // no NUL before the hole
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.cmdline_status, TextStatus::Unreadable);
    EXPECT_STREQ(info.cmdline, "");
}

TEST(Pvh, CmdlineEndingAtEdgeOfReadableMemory)
{
    FakePhys phys;
    auto si = start_info(0);
    si.cmdline_paddr = phys.base + phys.mem.size() - 4;
    phys.put(si_phys, &si, sizeof(si));
    phys.put(si.cmdline_paddr, "abc", 4);
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_STREQ(info.cmdline, "abc");
}

TEST(Pvh, LongCmdlineIsTruncatedAfterBoundedReads)
{
    FakePhys phys;
    auto si = start_info(0);
    phys.put(si_phys, &si, sizeof(si));
    std::memset(phys.at(cmdline_phys), 'y', 1000);  // no NUL for 1000 bytes
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.cmdline_status, TextStatus::Truncated);
    EXPECT_EQ(std::string(info.cmdline), std::string(255, 'y'));
    EXPECT_LE(phys.reads, 1u + 256u);  // start info + at most 256 cmdline bytes
}

TEST(Pvh, NoCmdline)
{
    FakePhys phys;
    auto si = start_info(0);
    si.cmdline_paddr = 0;
    phys.put(si_phys, &si, sizeof(si));
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.cmdline_status, TextStatus::Absent);
}

TEST(Pvh, Version1WithoutMemmapAddress)
{
    FakePhys phys;
    auto si = start_info(1);
    phys.put(si_phys, &si, sizeof(si));
    phys.put(cmdline_phys, "", 1);
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.memory_map_status, MemoryMapStatus::Absent);
}

TEST(Pvh, MemmapUnreadable)
{
    FakePhys phys;
    auto si = start_info(1);
    si.memmap_paddr = memmap_phys;
    si.memmap_entries = 1000;  // runs past the end of fake memory
    phys.put(si_phys, &si, sizeof(si));
    phys.put(cmdline_phys, "", 1);
    BootInfo info;
    EXPECT_EQ(parse_pvh(si_phys, &FakePhys::read, &phys, info).error(), Error::NotMapped);

    si.memmap_paddr = 0xffffffffffffff00;  // table would wrap the address space
    si.memmap_entries = 20;
    phys.put(si_phys, &si, sizeof(si));
    EXPECT_EQ(parse_pvh(si_phys, &FakePhys::read, &phys, info).error(), Error::Corrupt);
}

TEST(Pvh, RegionAtTheLastAddressIsEmptyAndNotStored)
{
    FakePhys phys;
    auto si = start_info(1);
    put_memmap(phys, si, { { 0xffffffffffffffff, 0x10, 1, 0 }, { 0x100000, 0x1000, 1, 0 } });
    phys.put(si_phys, &si, sizeof(si));
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    ASSERT_EQ(info.region_count, 1u);
    EXPECT_EQ(info.regions[0].base, 0x100000u);
}

TEST(Pvh, TooManyMemmapEntriesAreDropped)
{
    FakePhys phys;
    auto si = start_info(1);
    std::vector<pvh::MemmapEntry> entries;
    for (uint64_t i = 0; i < 70; ++i)
        entries.push_back({ i * 0x10000, 0x1000, 1, 0 });
    put_memmap(phys, si, entries);
    phys.put(si_phys, &si, sizeof(si));
    phys.put(cmdline_phys, "", 1);
    BootInfo info;
    ASSERT_TRUE(parse_pvh(si_phys, &FakePhys::read, &phys, info).ok());
    EXPECT_EQ(info.region_count, 64u);
    EXPECT_TRUE(info.regions_dropped());
}

TEST(Pvh, LayoutSeenFromQemuDirectBoot)
{
    // Words read with gdb at _start_pvh after
    // `qemu-system-x86_64 -kernel build/exo-kernel -m 32 -append "log=verbose deferred=auto"`
    // (QEMU 7.2): start info at 0x21e0, memmap at 0x5a8, cmdline at 0x11c0.
    FakePhys phys;
    phys.base = 0;
    phys.mem.assign(0x3000, 0);
    const uint32_t start_words[] = { 0x336ec578, 1, 0, 0, 0, 0, 0x11c0, 0, 0xf59d0, 0, 0x5a8, 0, 7, 0 };
    phys.put(0x21e0, start_words, sizeof(start_words));
    const pvh::MemmapEntry map[] = {
        { 0x0, 0x9fc00, 1, 0 },           { 0x9fc00, 0x400, 2, 0 },       { 0xf0000, 0x10000, 2, 0 },
        { 0x100000, 0x1ee0000, 1, 0 },    { 0x1fe0000, 0x20000, 2, 0 },   { 0xfffc0000, 0x40000, 2, 0 },
        { 0xfd00000000, 0x300000000, 2, 0 },
    };
    phys.put(0x5a8, map, sizeof(map));
    phys.put(0x11c0, "log=verbose deferred=auto", 26);

    BootInfo info;
    ASSERT_TRUE(parse_pvh(0x21e0, &FakePhys::read, &phys, info).ok());
    EXPECT_STREQ(info.cmdline, "log=verbose deferred=auto");
    EXPECT_EQ(info.rsdp_phys, 0xf59d0u);
    EXPECT_EQ(info.module_count, 0u);
    EXPECT_EQ(info.region_count, 7u);
    EXPECT_EQ(info.total_usable_bytes(), 0x9fc00u + 0x1ee0000u);
    EXPECT_EQ(info.info_block.base, 0x21e0u);
    EXPECT_EQ(info.info_block.length, 56u);
}

// ---------------------------------------------------------------------------
// Real block captured from GRUB 2.06 (Debian 12) booting build/exo.iso with
// -m 32, by tests/fixtures/capture_mbi.sh. Values below are what that boot
// reported; recapture and update them if grub.cfg or the kernel layout change.

// EBX at _start_multiboot in that boot: where GRUB put the block.
constexpr uint64_t fixture_phys = 0x105140;
// grub.cfg's multiboot2 line has no arguments: GRUB still sends an empty cmdline tag.
constexpr const char* fixture_cmdline = "";

std::vector<uint8_t> load_fixture(const char* name)
{
    std::ifstream f(std::string(EXO_FIXTURE_DIR) + "/" + name, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

TEST(Multiboot2Fixture, GrubBlockFromRealBoot)
{
    auto block = load_fixture("grub_mbi.bin");
    ASSERT_FALSE(block.empty()) << "missing " EXO_FIXTURE_DIR "/grub_mbi.bin";
    BootInfo info;
    ASSERT_TRUE(parse_multiboot2(mb2::boot_magic, block.data(), block.size(), fixture_phys, info).ok());
    EXPECT_EQ(info.info_block.base, fixture_phys);
    EXPECT_EQ(info.info_block.length, block.size());
    EXPECT_EQ(std::string(info.loader_name).rfind("GRUB", 0), 0u) << info.loader_name;
    EXPECT_EQ(info.loader_name_status, TextStatus::Complete);
    EXPECT_EQ(info.cmdline_status, TextStatus::Complete);  // the tag is there, even if empty
    EXPECT_STREQ(info.cmdline, fixture_cmdline);
    EXPECT_EQ(info.module_count, 0u);

    ASSERT_EQ(info.memory_map_status, MemoryMapStatus::Complete);
    // -m 32: SeaBIOS reports conventional memory below the EBDA and the rest
    // above 1 MiB up to the ACPI/reserved pages just under 32 MiB.
    uint64_t usable = info.total_usable_bytes();
    EXPECT_GT(usable, 31u << 20);
    EXPECT_LE(usable, 32u << 20);
    ASSERT_GE(info.region_count, 4u);
    EXPECT_EQ(info.regions[0].base, 0u);
    EXPECT_EQ(info.regions[0].type, MemoryType::Usable);
    EXPECT_EQ(info.regions[0].length, 0x9fc00u);  // 639 KiB below the EBDA
    bool has_high = false;
    for (size_t i = 0; i < info.region_count; ++i) {
        const MemoryRegion& r = info.regions[i];
        if (r.base == 0x100000 && r.type == MemoryType::Usable) {
            has_high = true;
            EXPECT_LE(r.base + r.length, 32u << 20);
        }
    }
    EXPECT_TRUE(has_high);

    // QEMU's firmware publishes ACPI 1.0: GRUB passes a copy of the RSDP
    // (tag 14) inside the block, and we record where that copy lives.
    ASSERT_TRUE(info.has_rsdp());
    ASSERT_GE(info.rsdp_phys, fixture_phys);
    uint64_t off = info.rsdp_phys - fixture_phys;
    ASSERT_LE(off + mb2::rsdp_v1_size, block.size());
    EXPECT_EQ(std::memcmp(block.data() + off, "RSD PTR ", 8), 0);
}

TEST(Multiboot2Fixture, EveryTruncationOfTheRealBlockFailsCleanly)
{
    // total_size says 1064; any shorter window must be refused, and a block
    // whose total_size is cut short must not be read past (ASan watches).
    auto block = load_fixture("grub_mbi.bin");
    ASSERT_FALSE(block.empty());
    BootInfo info;
    for (size_t len = 0; len < block.size(); ++len) {
        std::vector<uint8_t> cut(block.begin(), block.begin() + len);
        auto r = parse_multiboot2(mb2::boot_magic, cut.data(), cut.size(), fixture_phys, info);
        EXPECT_FALSE(r.ok()) << "window " << len;
        if (len >= 8) {
            uint32_t total = uint32_t(len);
            std::memcpy(cut.data(), &total, 4);
            r = parse_multiboot2(mb2::boot_magic, cut.data(), cut.size(), fixture_phys, info);
            EXPECT_EQ(r.ok() ? Error::Busy : r.error(), Error::Corrupt) << "total_size " << len;
        }
    }
}

}  // namespace
}  // namespace exo

namespace exo {
namespace {

// A firmware map whose RAM entry overlaps a reserved one (and an ACPI table
// inside RAM): the reserved side comes out as its own list, so the frame
// allocator clips RAM against it and never hands those frames out.
TEST(BootInfoRanges, UsableAndReservedSplitSoOverlapsAreClipped)
{
    BootInfo info {};
    info.add_region(0x100000, 0x1F00000, MemoryType::Usable);
    info.add_region(0x1000000, 0x1000, MemoryType::Reserved);
    info.add_region(0x1800000, 0x2000, MemoryType::AcpiReclaimable);
    info.add_region(0xFEC00000, 0x1000, MemoryType::Reserved);
    PhysRange usable[4];
    PhysRange reserved[4];
    ASSERT_EQ(info.ranges(true, usable, 4), 1u);
    EXPECT_EQ(usable[0].base, 0x100000u);
    ASSERT_EQ(info.ranges(false, reserved, 4), 3u);
    EXPECT_EQ(reserved[0].base, 0x1000000u);
    EXPECT_EQ(reserved[1].base, 0x1800000u);
    EXPECT_EQ(info.ranges(false, reserved, 2), 2u);  // never past capacity

    std::vector<uint64_t> storage(FrameAllocator::bitmap_bytes_for(0x2000000) / 8 + 1);
    FrameAllocator fa;
    ASSERT_TRUE(fa.init({ usable, 1 }, { reserved, 3 }, storage.data(), storage.size() * 8).ok());
    EXPECT_FALSE(fa.is_free(0x1000000));
    EXPECT_FALSE(fa.is_free(0x1801000));
    EXPECT_TRUE(fa.is_free(0x1001000));
    for (;;) {
        Result<uint64_t> r = fa.alloc();
        if (!r)
            break;
        EXPECT_FALSE(r.value() == 0x1000000 || r.value() == 0x1800000 || r.value() == 0x1801000) << r.value();
    }
}

}  // namespace
}  // namespace exo
