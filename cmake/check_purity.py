#!/usr/bin/env python3
"""Fail the build when a pure file reaches the hardware.

Pure files (the kernel's host-testable cores) are built into the kernel and
into the host test binary, so they may not include a kernel-only header
(anything under kernel/arch/, a `*_hw.h` binding, a `*_commands.h`) nor use
inline assembly. CMake passes the list of pure files and the one regex that
defines "kernel-only" (EXO_KERNEL_ONLY_REGEX in CMakeLists.txt).
"""
import argparse
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s*["<]([^">]+)[">]')
INLINE_ASM = re.compile(r'\b(asm|__asm|__asm__)\b')
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SAME_LINE_COMMENT = re.compile(r'/\*.*?\*/')


def problems(path: Path, root: Path, kernel_only: re.Pattern) -> list[str]:
    rel = path.relative_to(root)
    found = []
    in_block_comment = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line
        if in_block_comment:
            if "*/" not in code:
                continue
            code = code.split("*/", 1)[1]
            in_block_comment = False
        if "/*" in code and "*/" not in code.split("/*", 1)[1]:
            in_block_comment = True
            code = code.split("/*", 1)[0]
        include = INCLUDE.match(code)
        # Comments and string literals cannot hold inline assembly.
        code = SAME_LINE_COMMENT.sub(" ", STRING.sub('""', code)).split("//", 1)[0]
        if include and kernel_only.search("/" + include.group(1)):
            found.append(f"{rel}:{number}: pure file includes kernel-only {include.group(1)}")
        elif INLINE_ASM.search(code):
            found.append(f"{rel}:{number}: pure file uses inline assembly")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--kernel-only", required=True, help="regex naming kernel-only files")
    parser.add_argument("--stamp", type=Path, help="touched when every file passes")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    kernel_only = re.compile(args.kernel_only)
    found = []
    for path in args.files:
        if kernel_only.search(str(path)):
            found.append(f"{path}: named kernel-only but listed as pure")
            continue
        found += problems(path.resolve(), args.root.resolve(), kernel_only)
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if found:
        print("error: pure files must not reach the hardware; move that code into a "
              "`*_hw.cc` binding (see CMakeLists.txt)", file=sys.stderr)
        return 1
    if args.stamp:
        args.stamp.write_text(f"{len(args.files)} pure files checked\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
