"""cmake/trim_elf.py: what it cuts from the stripped kernel, and what it keeps."""
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cmake"))
import trim_elf  # noqa: E402

SOURCE = """
    .section .text, "ax"
    .global _start
_start:
    hlt
    .section .rodata, "a"
    .asciz "kept"
    .section .data, "aw"
    .quad 0x1122334455667788
"""


@pytest.fixture
def elf(tmp_path):
    """A small static ELF64 with several segments, stripped as the kernel is."""
    if shutil.which("gcc") is None or shutil.which("strip") is None:
        pytest.skip("needs gcc and strip")
    src, path = tmp_path / "t.S", tmp_path / "t"
    src.write_text(SOURCE)
    subprocess.run(["gcc", "-nostdlib", "-static", "-no-pie", "-Wl,-z,max-page-size=0x1000",
                    "-o", str(path), str(src)], check=True)
    subprocess.run(["strip", str(path)], check=True)
    return path


def segments(data: bytes):
    ehdr = trim_elf.EHDR.unpack_from(data)
    phoff, phentsize, phnum = ehdr[5], ehdr[9], ehdr[10]
    return [trim_elf.PHDR.unpack_from(data, phoff + i * phentsize) for i in range(phnum)]


def test_drops_section_headers_and_keeps_every_segment_byte(elf):
    before = elf.read_bytes()
    size = trim_elf.trim(str(elf))
    after = elf.read_bytes()
    assert size == len(after) < len(before)
    ehdr = trim_elf.EHDR.unpack_from(after)
    assert ehdr[6] == 0 and ehdr[11:14] == (0, 0, 0)  # e_shoff, e_shentsize, e_shnum, e_shstrndx
    assert segments(after) == segments(before)
    for _, _, offset, _, _, filesz, _, _ in segments(after):
        assert offset + filesz <= len(after)
        start = max(offset, trim_elf.EHDR.size)  # the ELF header itself was rewritten
        assert after[start:offset + filesz] == before[start:offset + filesz]
    # readelf still reads the program headers.
    out = subprocess.run(["readelf", "-lW", str(elf)], capture_output=True, text=True, check=True).stdout
    assert "LOAD" in out


def test_is_idempotent(elf):
    first = trim_elf.trim(str(elf))
    assert trim_elf.trim(str(elf)) == first


def test_refuses_section_headers_inside_a_segment(elf, tmp_path):
    data = bytearray(elf.read_bytes())
    ehdr = list(trim_elf.EHDR.unpack_from(data))
    ehdr[6] = ehdr[5]  # e_shoff pointing at the program headers
    trim_elf.EHDR.pack_into(data, 0, *ehdr)
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    with pytest.raises(SystemExit):
        trim_elf.trim(str(bad))
    assert bad.read_bytes() == bytes(data)  # untouched
