// Physical memory for the parsers that read it through a PhysReader (ACPI,
// PVH): a few regions decoded from the fuzzer's input. Every read hands out
// an exact-size heap copy and frees the one before, so ASan reports a read
// past the length asked for, and any use of a pointer after the next read
// (ACPI's contract: valid until the next call).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <memory>
#include <vector>

namespace exo::fuzz {

class FakePhysMemory {
public:
    // Regions may overlap: a read is served by the first that holds all of it.
    void add(uint64_t base, std::vector<uint8_t> bytes)
    {
        if (bytes.empty() || base + bytes.size() < base)
            return;  // wraps past 2^64: not memory
        m_regions.push_back({ base, std::move(bytes) });
    }

    // The bytes at [phys, phys + len) in place, or nullptr; for building and
    // checking test data, not for the code under test.
    uint8_t* find(uint64_t phys, size_t len)
    {
        for (Region& r : m_regions) {
            if (phys >= r.base && len <= r.bytes.size() && phys - r.base <= r.bytes.size() - len)
                return r.bytes.data() + (phys - r.base);
        }
        return nullptr;
    }

    const uint8_t* read(uint64_t phys, size_t len)
    {
        ++m_reads;
        m_copy.reset();
        const uint8_t* p = len == 0 ? nullptr : find(phys, len);
        if (p == nullptr)
            return nullptr;
        m_copy.reset(new uint8_t[len]);
        memcpy(m_copy.get(), p, len);
        return m_copy.get();
    }

    static const uint8_t* reader(void* ctx, uint64_t phys, size_t len)
    {
        return static_cast<FakePhysMemory*>(ctx)->read(phys, len);
    }

    size_t reads() const { return m_reads; }

private:
    struct Region {
        uint64_t base;
        std::vector<uint8_t> bytes;
    };
    std::vector<Region> m_regions;
    std::unique_ptr<uint8_t[]> m_copy;
    size_t m_reads = 0;
};

}  // namespace exo::fuzz
