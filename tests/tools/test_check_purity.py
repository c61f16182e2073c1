"""cmake/check_purity.py: the build's guard that pure files stay host-buildable."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "cmake" / "check_purity.py"


def kernel_only_regex() -> str:
    """The regex CMakeLists.txt defines, so the test follows the real rule."""
    text = (ROOT / "CMakeLists.txt").read_text()
    value = re.search(r'set\(EXO_KERNEL_ONLY_REGEX "([^"]+)"\)', text).group(1)
    return value.replace("\\\\", "\\")


def check(tmp_path: Path, name: str, body: str) -> subprocess.CompletedProcess:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return subprocess.run([sys.executable, str(CHECKER), "--root", str(tmp_path),
                           "--kernel-only", kernel_only_regex(), str(path)],
                          capture_output=True, text=True)


def test_rule_names_bindings_commands_asm_and_arch_kernel_only():
    rx = re.compile(kernel_only_regex())
    for kernel_only in ["/kernel/arch/x86_64/cpu.h", "/kernel/mm/memory_hw.cc", "/kernel/mm/memory_hw.h",
                        "/kernel/mm/memory_commands.cc", "/shell/kernel_commands.h", "/kernel/user/programs.S"]:
        assert rx.search(kernel_only), kernel_only
    for pure in ["/kernel/mm/heap.cc", "/kernel/mm/page_table.h", "/shell/line_editor.cc",
                 "/gdbstub/rsp_codec.h", "/kernel/hwinfo.cc"]:
        assert not rx.search(pure), pure


def test_clean_pure_file_passes(tmp_path):
    r = check(tmp_path, "kernel/mm/clean.cc",
              '#include "kernel/lib/result.h"\n// asm in a comment is fine\nint f() { return 1; }\n')
    assert r.returncode == 0, r.stderr


def test_kernel_only_include_fails_with_file_and_line(tmp_path):
    r = check(tmp_path, "kernel/mm/bad.cc", '#include "kernel/lib/result.h"\n#include "kernel/mm/memory_hw.h"\n')
    assert r.returncode == 1
    assert "kernel/mm/bad.cc:2: pure file includes kernel-only kernel/mm/memory_hw.h" in r.stderr


def test_arch_include_fails(tmp_path):
    r = check(tmp_path, "shell/bad.h", '#pragma once\n#include "kernel/arch/x86_64/port_io.h"\n')
    assert r.returncode == 1 and "kernel/arch/x86_64/port_io.h" in r.stderr


def test_inline_asm_fails(tmp_path):
    r = check(tmp_path, "kernel/lib/bad.cc", 'void f() { asm volatile("hlt"); }\n')
    assert r.returncode == 1 and "inline assembly" in r.stderr


def test_commented_out_include_is_ignored(tmp_path):
    r = check(tmp_path, "kernel/lib/ok.cc", '// #include "kernel/mm/memory_hw.h"\n/*\n#include "kernel/arch/x86_64/cpu.h"\n*/\n')
    assert r.returncode == 0, r.stderr


def test_angle_bracket_include_of_a_kernel_only_header_fails(tmp_path):
    r = check(tmp_path, "kernel/lib/bad.cc", "#include <kernel/mm/memory_hw.h>\n")
    assert r.returncode == 1 and "kernel/mm/memory_hw.h" in r.stderr


def test_every_spelling_of_inline_asm_fails(tmp_path):
    for i, spelling in enumerate(["__asm", "__asm__", "asm"]):
        r = check(tmp_path, f"kernel/lib/bad{i}.cc", f'void f() {{ {spelling} volatile("pause"); }}\n')
        assert r.returncode == 1 and "inline assembly" in r.stderr, spelling


def test_asm_in_a_string_or_a_same_line_comment_passes(tmp_path):
    r = check(tmp_path, "kernel/lib/ok.cc",
              'const char* k = "asm";  /* asm */ int a; /* __asm__ */\nint b; // asm\n')
    assert r.returncode == 0, r.stderr
