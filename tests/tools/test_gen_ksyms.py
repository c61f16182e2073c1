"""cmake/gen_ksyms.py: the embedded symbol table's generator, on a real nm listing."""
import importlib.util
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ksyms"

_spec = importlib.util.spec_from_file_location("gen_ksyms", ROOT / "cmake" / "gen_ksyms.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


@pytest.fixture(scope="module")
def listing():
    syms, start, end = gen.parse_nm((FIXTURES / "exo-kernel-stage1.nm").read_text())
    return syms, start, end, gen.functions(syms, end)


@pytest.mark.parametrize("demangled,own,qualified", [
    ("exo::GdbStub::breakpoint_count() const", "breakpoint_count", "GdbStub::breakpoint_count"),
    ("exo::gdb_server::(anonymous namespace)::frame_slot(exo::TrapFrame&, exo::GdbRegister)",
     "frame_slot", "gdb_server::frame_slot"),
    ("exo::I8042<exo::X86PortIo>::command(unsigned char) [clone .constprop.0]", "command", "I8042::command"),
    ("exo::Result<unsigned char> exo::(anonymous namespace)::match<3ul>(exo::CmdlineText const&, "
     "char const* const (&) [3ul])", "match", "match"),
    ("void exo::console::print<unsigned long>(char const*, unsigned long const&)", "print", "console::print"),
    ("kernel_main::{lambda(void*)#1}::_FUN(void*)", "kernel_main{lambda}", "kernel_main{lambda}"),
    ("exo::PciConfig<exo::X86PortIo>::space()::{lambda(void*, exo::PciAddress, unsigned char)#1}::_FUN("
     "void*, exo::PciAddress, unsigned char)", "space{lambda}", "PciConfig::space{lambda}"),
    ("exo::cpu::InterruptGuard::~InterruptGuard()", "~InterruptGuard", "InterruptGuard::~InterruptGuard"),
    ("operator new[](unsigned long)", "new[]", "new[]"),
    ("memmove.isra.0", "memmove", "memmove"),
    ("isr_14", "isr_14", "isr_14"),
    ("exo::rtc::decode(exo::RtcRaw const&, unsigned char)::{lambda(unsigned char)#1}::operator()(unsigned char) const"
     " [clone .isra.0]", "decode{lambda}", "rtc::decode{lambda}"),
    ("void exo::PageTable::for_each_range<exo::PageTable::audit_wx() const::{lambda(exo::MappedRange const&)#1}>("
     "exo::PageTable::audit_wx() const::{lambda(exo::MappedRange const&)#1}) const::{lambda(int)#1}::_FUN(int)",
     "for_each_range{lambda}", "PageTable::for_each_range{lambda}"),
])
def test_short_name_is_the_functions_own_name(demangled, own, qualified):
    assert gen.short_name(demangled) == own
    assert gen.short_name(demangled, qualified=True) == qualified


def test_every_text_address_is_covered_but_padding(listing):
    syms, start, end, funcs = listing
    assert len(funcs) > 300
    assert funcs[0][0] == start
    assert all(a[1] <= b[0] for a, b in zip(funcs, funcs[1:]))
    names = {n for _, _, n in funcs}
    # Small functions and assembly labels are in (the old table dropped them).
    assert {"set_debug_registers", "isr_14", "trap_common", "context_switch"} <= names
    covered = sum(e - s for s, e, _ in funcs)
    assert end - start - covered < 200  # only alignment padding is left out
    for name in names:
        assert 0 < len(name) <= gen.MAX_NAME and " " not in name and "!" not in name


def test_round_trip_with_the_reference_decoder(listing):
    _, start, end, funcs = listing
    blob = gen.encode(funcs)
    for i, (s, e, name) in enumerate(funcs):
        for a in (s, (s + e) // 2, e - 1):
            assert gen.lookup(blob, a) == (s, name)
        nxt = funcs[i + 1][0] if i + 1 < len(funcs) else e + 16
        for a in range(e, nxt):
            assert gen.lookup(blob, a) is None, f"padding {a:x} after {name}"
    assert gen.lookup(blob, start - 1) is None


def test_tokens_fit_the_decoder(listing):
    funcs = listing[3]
    blob = gen.encode(funcs)
    ntok, nchars = blob[4], blob[5]
    first_char = gen.FIRST_TOKEN + ntok
    assert first_char + nchars <= 256
    pairs = blob[gen.HEADER:gen.HEADER + 2 * ntok]
    depth = {}
    for i in range(ntok):
        code = gen.FIRST_TOKEN + i
        for c in pairs[2 * i:2 * i + 2]:
            # An end marker, a character or an earlier token: no cycles.
            assert c < code or first_char <= c < first_char + nchars
        depth[code] = 1 + max(depth.get(c, 0) for c in pairs[2 * i:2 * i + 2])
    assert max(depth.values()) <= gen.MAX_DEPTH
    # The characters: each one the names use, once, in order.
    chars = blob[gen.HEADER + 2 * ntok:gen.HEADER + 2 * ntok + nchars]
    assert list(chars) == sorted({c for _, _, n in funcs for c in n.encode()})
    assert all(0x22 <= c <= 0x7E for c in chars)


def test_linker_script_markers_are_not_functions():
    listing = ("ffffffff80100000 T __text_start\n"
               "ffffffff80100000 0000000000000011 t f\n"
               "ffffffff80100011 T __nobreak_start\n"
               "ffffffff80100012 T isr_stub\n"
               "ffffffff80100020 0000000000000010 t g\n"
               "ffffffff80100030 T __text_end\n")
    syms, start, end = gen.parse_nm(listing)
    assert [n for _, _, n in gen.functions(syms, end)] == ["f", "isr_stub", "g"]
    blob = gen.encode(gen.functions(syms, end))
    assert gen.lookup(blob, 0xffffffff80100011) is None  # padding now


def test_size_codes():
    for v in [0, 1, 223, 224, 7167, 7168, 100000]:
        code = gen.size_code(v)
        assert all(b >= gen.SIZE_RADIX for b in code[:-1]) and code[-1] < gen.SIZE_RADIX
        n = 0
        for b in code[:-1]:
            n = n * (256 - gen.SIZE_RADIX) + b - gen.SIZE_RADIX
        assert n * gen.SIZE_RADIX + code[-1] == v
    assert len(gen.size_code(223)) == 1 and len(gen.size_code(7167)) == 2


def test_random_functions_round_trip():
    rng = random.Random(7)
    funcs, a = [], 0xFFFFFFFF80100000
    for i in range(300):
        a += rng.choice([0, 0, 0, 1, 1, 3, 16])
        size = rng.choice([1, 2, 50, 200, 223, 224, 5000])
        funcs.append((a, a + size, rng.choice(["read", "write", "x", "on_tick", "cmd_" + str(i)])))
        a += size
    blob = gen.encode(funcs)
    for s, e, name in funcs:
        assert gen.lookup(blob, s) == (s, name) and gen.lookup(blob, e - 1) == (s, name)
    assert gen.lookup(blob, a) is None


def test_encode_rejects_overlaps_and_bad_names():
    with pytest.raises(ValueError):
        gen.encode([(0x1000, 0x1010, "a"), (0x1008, 0x1020, "b")])
    with pytest.raises(ValueError):
        gen.encode([(0x1000, 0x1010, "a b")])
    assert gen.encode([]) == b""


def test_fixture_blob_is_what_the_generator_writes(listing):
    funcs = listing[3]
    assert gen.encode(funcs) == (FIXTURES / "ksyms.bin").read_bytes(), \
        "regenerate the fixtures: see tests/fixtures/ksyms/README.md"
    expected = "".join(f"{s:x} {e:x} {n}\n" for s, e, n in funcs)
    assert expected == (FIXTURES / "functions.txt").read_text()
