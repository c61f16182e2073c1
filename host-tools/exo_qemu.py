#!/usr/bin/python3
"""Start Exo-OS in QEMU, wired the way /work/shared/contract.md says.

One module for three users:
  * the README's run command (the CLI below: COM1 on the terminal),
  * tests/integration (the `Qemu` class: COM1 on a pipe, driven like a user),
  * bench/ (the same class, with its start time and marker arrival times).

The wiring is always

    qemu-system-x86_64 -cdrom build/exo.iso -m 32 -display none -no-reboot \
      -serial <COM1> -serial <COM2> -device isa-debug-exit,iobase=0xf4,iosize=0x04

plus `-accel tcg` (KVM is opt-in), `-monitor none` (so stdio belongs to COM1
alone), and for PVH `-kernel build/exo-kernel` in place of `-cdrom`.

Standard library only; runs on Debian's /usr/bin/python3.
"""
from __future__ import annotations

import argparse
import bisect
import ctypes
import dataclasses
import enum
import functools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_DIR = REPO_DIR / "build"

QEMU_BINARY = os.environ.get("EXO_QEMU", "qemu-system-x86_64")
DEFAULT_MEM_MIB = 32
# QEMU isa-debug-exit: a write of V to port 0xf4 exits QEMU with (V << 1) | 1.
DEBUG_EXIT_DEVICE = "isa-debug-exit,iobase=0xf4,iosize=0x04"
# microvm creates only one isa-serial (COM1) and silently drops a second
# -serial; this puts COM2 back at the PC address, fed by that -serial's
# chardev (QEMU names the n-th -serial chardev "serial<n>").
MICROVM_COM2_DEVICE = "isa-serial,chardev=serial1,iobase=0x2f8,irq=3"
LOOPBACK = "127.0.0.1"

PROMPT = b"exo> "
BANNER = b"Exo-OS"

DEFAULT_BOOT_TIMEOUT_S = 60.0
DEFAULT_COMMAND_TIMEOUT_S = 10.0
ECHO_TIMEOUT_S = 5.0        # Qemu.command: how long an echo may take before it counts as garbled
KILL_GRACE_S = 1.0
ERROR_TAIL_BYTES = 2048

# On a terminal COM1 shares stdio with QEMU's monitor, and the mux takes one
# key as its escape. QEMU's default, Ctrl-A, is the line editor's Home, and
# Ctrl-] resumes a kernel that gdb left stopped: Ctrl-\ is bound by neither
# the shell (shell/line_editor.cc), the stub nor readline.
ESCAPE_KEY = 0x1C
ESCAPE_NAME = "Ctrl-\\"


class BootMode(enum.Enum):
    """How the kernel reaches the machine."""
    ISO = "iso"          # GRUB BIOS ISO on -M pc (Multiboot2)
    PVH = "pvh"          # -kernel on -M pc (PVH ELF note)
    MICROVM = "microvm"  # -kernel on -M microvm (PVH; no BIOS, no GRUB)

    @property
    def is_direct(self) -> bool:
        return self is not BootMode.ISO


# The smallest -m that boots to the prompt (bench/footprint.py, goals.md):
# the kernel loads at 1 MiB and needs its page tables and heap above it;
# GRUB needs 4 MiB. Below this QEMU runs but the prompt never comes.
MIN_MEM_MIB = {BootMode.ISO: 4, BootMode.PVH: 2, BootMode.MICROVM: 2}


def mem_problem(mode: "BootMode", mem_mib: int) -> Optional[str]:
    """Why `-m mem_mib` cannot boot in `mode`, or None."""
    least = MIN_MEM_MIB[mode]
    if mem_mib >= least:
        return None
    how = {BootMode.ISO: "through GRUB", BootMode.PVH: "with PVH",
           BootMode.MICROVM: "with PVH on microvm"}[mode]
    return f"--mem {mem_mib} is too small: Exo-OS needs {least} MiB or more {how} (the kernel loads at 1 MiB)"


def session_hint(escape: bool) -> list[str]:
    """What a person at the terminal needs before the boot log, in lines
    that fit 80 columns: how to get help, how to leave, which key QEMU keeps."""
    if not escape:
        return ["At the prompt, `help` lists the commands; leave with `poweroff`."]
    return [f"At the prompt, `help` lists the commands; leave with `poweroff` or {ESCAPE_NAME} x.",
            f"QEMU keeps {ESCAPE_NAME} ({ESCAPE_NAME} c: its monitor, {ESCAPE_NAME} h: its help).",
            "Every other key, Ctrl-A and Ctrl-C included, goes to the shell."]


class Accel(enum.Enum):
    TCG = "tcg"
    KVM = "kvm"


class QemuError(Exception):
    """QEMU did not do what a test or the bench waited for."""


class QemuTimeout(QemuError):
    pass


class QemuExited(QemuError):
    pass


# --------------------------------------------------------------------------
# Chardevs

def tcp_chardev(port: int, wait: bool = False) -> str:
    """A `-serial` chardev listening on loopback only. nodelay=on: without it
    Nagle and delayed ACKs add ~45 ms to every small packet (GDB's RSP)."""
    return f"tcp:{LOOPBACK}:{port},server=on,wait={'on' if wait else 'off'},nodelay=on"


class Qmp:
    """A QMP client for a QEMU started with `-qmp unix:PATH,server=on,
    wait=off` (next to the launcher's `-monitor none`): the greeting read and
    capabilities negotiated, then execute() one command at a time. A
    context manager (closes the socket)."""

    def __init__(self, path: Union[Path, str], timeout: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
            self.file = self.sock.makefile("rwb")
            greeting = self._read()
            if "QMP" not in greeting:
                raise QemuError(f"not a QMP greeting: {greeting}")
            self.execute("qmp_capabilities")
        except BaseException:
            self.close()
            raise

    def _read(self) -> dict:
        line = self.file.readline()
        if not line:
            raise QemuError("QMP closed the connection")
        return json.loads(line)

    def execute(self, cmd: str, **arguments):
        """The command's "return" value; asynchronous events before it are
        skipped, an "error" raises QemuError."""
        msg: dict = {"execute": cmd}
        if arguments:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "error" in reply:
                raise QemuError(f"QMP {msg}: {reply['error']}")
            if "return" in reply:
                return reply["return"]

    def hmp(self, command_line: str) -> str:
        return self.execute("human-monitor-command", **{"command-line": command_line})

    def send_key(self, qcode: str) -> None:
        self.execute("send-key", keys=[{"type": "qcode", "data": qcode}])

    def close(self) -> None:
        for c in (getattr(self, "file", None), self.sock):
            try:
                if c is not None:
                    c.close()
            except OSError:
                pass

    def __enter__(self) -> "Qmp":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def free_tcp_port() -> int:
    """A loopback port nobody is listening on right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


_TCP_SHORTHAND = re.compile(r"^tcp:(\d+)$")
_TCP_CHARDEV = re.compile(r"^(?:tcp|telnet|websocket):([^:,]*):")


def normalize_chardev(spec: str, *, wait: bool) -> str:
    """Expand `tcp:PORT` to a loopback server chardev; refuse any TCP
    chardev that would listen on something other than 127.0.0.1."""
    m = _TCP_SHORTHAND.match(spec)
    if m:
        return tcp_chardev(int(m.group(1)), wait=wait)
    m = _TCP_CHARDEV.match(spec)
    if m and m.group(1) not in (LOOPBACK, "localhost"):
        raise ValueError(f"chardev {spec!r}: TCP must bind {LOOPBACK} only")
    return spec


# --------------------------------------------------------------------------
# The argv

@dataclasses.dataclass
class LaunchSpec:
    """Everything that decides the QEMU command line."""
    mode: BootMode = BootMode.ISO
    build_dir: Path = DEFAULT_BUILD_DIR
    accel: Accel = Accel.TCG
    mem_mib: int = DEFAULT_MEM_MIB
    # Extra kernel command line. PVH: -append. ISO: needs a rebuilt ISO
    # (see make_append_iso); build_argv then expects `iso` to point at it.
    append: Optional[str] = None
    com1: str = "stdio"
    com2: str = "null"
    iso: Optional[Path] = None      # default: build_dir/exo.iso
    kernel: Optional[Path] = None   # default: build_dir/exo-kernel
    extra_args: Sequence[str] = ()

    def iso_path(self) -> Path:
        return Path(self.iso) if self.iso else Path(self.build_dir) / "exo.iso"

    def kernel_path(self) -> Path:
        return Path(self.kernel) if self.kernel else Path(self.build_dir) / "exo-kernel"

    def boot_artifact(self) -> Path:
        return self.kernel_path() if self.mode.is_direct else self.iso_path()


def build_argv(spec: LaunchSpec) -> list[str]:
    """The QEMU command for `spec`, per the contract's wiring.

    For an ISO boot `spec.append` is not passed here (GRUB reads the command
    line from grub.cfg inside the ISO): point `spec.iso` at an ISO made by
    make_append_iso instead.
    """
    argv = [QEMU_BINARY]
    if spec.mode is BootMode.MICROVM:
        argv += ["-M", "microvm"]
    if spec.mode.is_direct:
        argv += ["-kernel", str(spec.kernel_path())]
        if spec.append:
            argv += ["-append", spec.append]
    else:
        argv += ["-cdrom", str(spec.iso_path())]
    argv += [
        "-m", str(spec.mem_mib),
        "-display", "none",
        "-no-reboot",
        "-serial", spec.com1,
        "-serial", spec.com2,
        "-device", DEBUG_EXIT_DEVICE,
    ]
    if spec.mode is BootMode.MICROVM:
        argv += ["-device", MICROVM_COM2_DEVICE]
    argv += ["-monitor", "none", "-accel", spec.accel.value]
    argv += list(spec.extra_args)
    return argv


def format_argv(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


# --------------------------------------------------------------------------
# GRUB ISOs with a different command line

_MULTIBOOT2_LINE = re.compile(r"^(\s*multiboot2\s+\S+)(.*)$", re.MULTILINE)

DEFAULT_GRUB_CFG = """set timeout=0
set timeout_style=hidden
menuentry "Exo-OS" {
    multiboot2 /boot/exo-kernel
    boot
}
"""


def rewrite_grub_cfg(cfg: str, append: Optional[str] = None,
                     kernel: Optional[str] = None, replace_args: bool = False) -> str:
    """Edit every `multiboot2 PATH ARGS` line: add `append` after ARGS (or in
    their place with replace_args), and swap PATH for `kernel` if given."""
    def edit(m: re.Match) -> str:
        head, args = m.group(1), m.group(2).rstrip()
        if kernel is not None:
            head = re.sub(r"\S+$", kernel, head)
        if replace_args:
            args = ""
        if append:
            args = f"{args} {append}"
        return head + args

    new, count = _MULTIBOOT2_LINE.subn(edit, cfg)
    if count == 0:
        raise ValueError("grub.cfg has no `multiboot2 PATH` line to rewrite")
    return new


# The flags CMakeLists.txt builds build/exo.iso with (BIOS GRUB only, no
# locales/fonts/themes), so a rebuilt ISO boots exactly like the real one.
GRUB_MKRESCUE_FLAGS = ("-d", "/usr/lib/grub/i386-pc", "--locales=", "--fonts=", "--themes=")


def grub_mkrescue(out_iso: Path, iso_dir: Path) -> None:
    """Build a BIOS GRUB ISO of iso_dir; raises with grub-mkrescue's output."""
    argv = ["grub-mkrescue", *GRUB_MKRESCUE_FLAGS, "-o", str(out_iso), str(iso_dir)]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise QemuError(f"{format_argv(argv)} failed ({done.returncode}):\n"
                        + done.stdout.decode(errors="replace"))


def make_append_iso(build_dir: Path, append: str, work_dir: Path) -> Path:
    """A copy of the kernel's ISO whose grub.cfg adds `append` to the
    multiboot2 line. Starts from build/isodir (the layout CMake hands to
    grub-mkrescue); without it, from build/exo-kernel and a default cfg."""
    build_dir = Path(build_dir)
    src = build_dir / "isodir"
    dst = Path(work_dir) / "isodir"
    if (src / "boot" / "grub" / "grub.cfg").is_file():
        shutil.copytree(src, dst)
    else:
        kernel = build_dir / "exo-kernel"
        if not kernel.is_file():
            raise FileNotFoundError(f"{src} and {kernel} are both missing: build the kernel first")
        (dst / "boot" / "grub").mkdir(parents=True)
        shutil.copy2(kernel, dst / "boot" / "exo-kernel")
        (dst / "boot" / "grub" / "grub.cfg").write_text(DEFAULT_GRUB_CFG)
    cfg = dst / "boot" / "grub" / "grub.cfg"
    cfg.write_text(rewrite_grub_cfg(cfg.read_text(), append=append))
    out = Path(work_dir) / "exo.iso"
    grub_mkrescue(out, dst)
    return out


# --------------------------------------------------------------------------
# Process hygiene

def _pdeathsig_setter():
    """A preexec_fn that makes the kernel SIGKILL QEMU if we die without
    running our cleanup (e.g. SIGKILLed by a CI timeout). Resolved before
    fork so the child only makes one libc call."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1  # <linux/prctl.h>
    sigkill = int(signal.SIGKILL)

    def setter() -> None:
        prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)
    return setter


def _stop_process(proc: subprocess.Popen, grace_s: float = KILL_GRACE_S) -> None:
    """SIGTERM, then SIGKILL after a short grace. Only ever this one pid."""
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except ProcessLookupError:
            pass
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def _cleanup(proc: Optional[subprocess.Popen], tmp: Optional[str]) -> None:
    if proc is not None:
        _stop_process(proc)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# COM1 capture

Marker = Union[bytes, str, "re.Pattern[bytes]"]


@dataclasses.dataclass
class Match:
    start: int          # offset in the COM1 stream
    end: int
    text: bytes
    elapsed: float      # seconds from QEMU start to the arrival of `end`
    groups: tuple = ()


class ByteStream:
    """A growing byte stream fed by a reader thread, with arrival times:
    QEMU's COM1 and stderr here, and what tests read from gdb or a socket.

    Kept apart from Qemu so the thread holds no reference to the Qemu object
    (its finalizer must be able to run)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.data = bytearray()
        self.chunk_ends: list[int] = []    # stream offset after each chunk
        self.chunk_times: list[float] = [] # monotonic time it arrived
        self.eof = False

    def pump(self, read: Callable[[], bytes]) -> None:
        """Appends what read() returns until it returns b"" or fails (EOF).
        The body of a reader thread."""
        while True:
            try:
                chunk = read()
            except OSError:
                chunk = b""
            now = time.monotonic()
            with self.cond:
                if chunk:
                    self.data += chunk
                    self.chunk_ends.append(len(self.data))
                    self.chunk_times.append(now)
                else:
                    self.eof = True
                self.cond.notify_all()
            if not chunk:
                return

    def arrival(self, offset: int) -> float:
        """Monotonic time at which byte offset-1 had arrived."""
        i = bisect.bisect_left(self.chunk_ends, offset)
        return self.chunk_times[min(i, len(self.chunk_times) - 1)]


def _marker_repr(marker: Marker) -> str:
    return repr(marker.pattern if isinstance(marker, re.Pattern) else marker)


def _echoes_verbatim(cmd: str) -> bool:
    """Whether the line editor echoes `cmd` as typed: printable ASCII that
    fits on one 80-column row after the prompt (wider lines wrap)."""
    return 0 < len(cmd) <= 80 - len(PROMPT) - 1 and all(" " <= c <= "~" for c in cmd)


def _compile_marker(marker: Marker):
    if isinstance(marker, str):
        marker = marker.encode()
    if isinstance(marker, (bytes, bytearray)):
        return re.compile(re.escape(bytes(marker)))
    if isinstance(marker, re.Pattern):
        if isinstance(marker.pattern, str):
            return re.compile(marker.pattern.encode(), marker.flags & ~re.UNICODE)
        return marker
    raise TypeError(f"marker must be bytes, str or a compiled regex, not {type(marker)}")


# --------------------------------------------------------------------------
# Qemu: a running machine driven over COM1

class Qemu:
    """QEMU with COM1 on a pipe, for tests and the bench.

        with Qemu(BootMode.PVH) as q:
            q.wait_for(BANNER)
            q.wait_for(PROMPT)
            print(q.command("mem"))

    COM2 is `null` unless com2="tcp" (a free loopback port, `com2_port`) or
    another chardev string. The process is stopped on __exit__, by kill(),
    by a finalizer / at interpreter exit, and by PR_SET_PDEATHSIG if this
    Python process dies abruptly (the parent *thread* must outlive QEMU:
    start it from the main thread).
    """

    def __init__(self, mode: Union[BootMode, str] = BootMode.ISO, *,
                 build_dir: Optional[Union[Path, str]] = None,
                 accel: Union[Accel, str] = Accel.TCG,
                 mem_mib: int = DEFAULT_MEM_MIB,
                 append: Optional[str] = None,
                 com2: Optional[str] = None,
                 iso: Optional[Union[Path, str]] = None,
                 kernel: Optional[Union[Path, str]] = None,
                 extra_args: Sequence[str] = (),
                 start: bool = True) -> None:
        self.spec = LaunchSpec(
            mode=BootMode(mode),
            build_dir=Path(build_dir or os.environ.get("EXO_BUILD_DIR", DEFAULT_BUILD_DIR)),
            accel=Accel(accel), mem_mib=mem_mib, append=append,
            iso=Path(iso) if iso else None, kernel=Path(kernel) if kernel else None,
            extra_args=tuple(extra_args))
        self.com2_port: Optional[int] = None
        if com2 == "tcp":
            self.com2_port = free_tcp_port()
            self.spec.com2 = tcp_chardev(self.com2_port, wait=False)
        elif com2:
            self.spec.com2 = normalize_chardev(com2, wait=False)
        self.argv: list[str] = []
        self.proc: Optional[subprocess.Popen] = None
        self.start_time: Optional[float] = None
        self._tmp: Optional[str] = None
        self._com1 = ByteStream()
        self._stderr = ByteStream()
        self._cursor = 0
        self._finalizer = None
        if start:
            self.start()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "Qemu":
        if self.proc is not None:
            raise QemuError("already started")
        spec = self.spec
        artifact = spec.boot_artifact()
        if not artifact.is_file():
            raise FileNotFoundError(
                f"{artifact} does not exist: build the kernel first "
                f"(cmake -S . -B build -G Ninja && cmake --build build)")
        try:
            if spec.mode is BootMode.ISO and spec.append and spec.iso is None:
                self._tmp = tempfile.mkdtemp(prefix="exo-qemu-")
                spec = dataclasses.replace(
                    spec, iso=make_append_iso(spec.build_dir, spec.append, Path(self._tmp)))
            spec = dataclasses.replace(spec, com1="stdio")
            self.argv = build_argv(spec)
            preexec = _pdeathsig_setter()
            self.start_time = time.monotonic()
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, preexec_fn=preexec, bufsize=0)
        except BaseException:
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
            raise
        self._finalizer = weakref.finalize(self, _cleanup, self.proc, self._tmp)
        for stream, pipe, name in ((self._com1, self.proc.stdout, "com1"),
                                   (self._stderr, self.proc.stderr, "stderr")):
            threading.Thread(target=stream.pump, args=(functools.partial(os.read, pipe.fileno(), 65536),),
                             name=f"qemu-{self.proc.pid}-{name}", daemon=True).start()
        return self

    def kill(self) -> None:
        """Stop QEMU (SIGTERM, SIGKILL after a grace) and remove temp files."""
        if self._finalizer is not None:
            self._finalizer()
        elif self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "Qemu":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    @property
    def returncode(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    def wait_exit(self, timeout: float = DEFAULT_BOOT_TIMEOUT_S) -> int:
        """Wait for QEMU to exit by itself; its exit status."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise QemuTimeout(self._describe(f"QEMU still running after {timeout:.1f} s")) from None

    # -- COM1 ---------------------------------------------------------------

    @property
    def output(self) -> bytes:
        with self._com1.cond:
            return bytes(self._com1.data)

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    @property
    def stderr_text(self) -> str:
        with self._stderr.cond:
            return bytes(self._stderr.data).decode(errors="replace")

    def tail(self, nbytes: int = ERROR_TAIL_BYTES) -> str:
        return self.output[-nbytes:].decode(errors="replace")

    def wait_for(self, marker: Marker, timeout: float = DEFAULT_BOOT_TIMEOUT_S,
                 *, advance: bool = True) -> Match:
        """Block until `marker` appears on COM1 after the cursor (the end of
        the last match). Woken by the reader thread, never by polling.
        Raises QemuTimeout / QemuExited with the tail of COM1."""
        pattern = _compile_marker(marker)
        deadline = time.monotonic() + timeout
        s = self._com1
        with s.cond:
            while True:
                m = pattern.search(s.data, self._cursor)
                if m:
                    match = Match(m.start(), m.end(), m.group(0),
                                  s.arrival(m.end()) - self.start_time, m.groups())
                    if advance:
                        self._cursor = m.end()
                    return match
                if s.eof:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                s.cond.wait(remaining)
        if s.eof:
            status = self.proc.wait() if self.proc else None
            raise QemuExited(self._describe(
                f"QEMU exited (status {status}) before {_marker_repr(marker)} appeared on COM1"))
        raise QemuTimeout(self._describe(
            f"timed out after {timeout:.1f} s waiting for {_marker_repr(marker)} on COM1"))

    def wait_prompt(self, timeout: float = DEFAULT_BOOT_TIMEOUT_S) -> Match:
        return self.wait_for(PROMPT, timeout)

    def send(self, data: Union[bytes, str]) -> None:
        if isinstance(data, str):
            data = data.encode()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise QemuExited(self._describe("QEMU's COM1 input is closed")) from None

    def send_line(self, line: str, eol: str = "\n") -> None:
        self.send(line + eol)

    def command(self, cmd: str, timeout: float = DEFAULT_COMMAND_TIMEOUT_S) -> str:
        """Type `cmd`, wait for the next prompt, return what came between
        (CRLF folded to LF, the echoed command line and trailing newline
        dropped). Call after the previous prompt has been waited for."""
        start = self._cursor
        self.send_line(cmd)
        verbatim = _echoes_verbatim(cmd)
        if verbatim:
            # The echo first: a log line that lands while the command is
            # typed is printed above it with a fresh prompt, which must not
            # end the wait (while the command runs, log lines are held).
            # An echo that never shows whole falls back to reading from where
            # the command was sent, as before: on a loaded host COM1 output
            # can lose bytes (the kernel's UART drops a byte the transmitter
            # stays busy for, uart16550.h kTxSpinLimit).
            try:
                start = self.wait_for(cmd.encode() + b"\r\n", min(timeout, ECHO_TIMEOUT_S)).end
            except QemuTimeout:
                verbatim = False
        m = self.wait_for(PROMPT, timeout)
        raw = self.output[start:m.start].decode(errors="replace")
        lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if not verbatim and lines and lines[0].strip().endswith(cmd.strip()):
            lines = lines[1:]
        return "\n".join(lines).rstrip("\n")

    def connect_com2(self, timeout: float = DEFAULT_BOOT_TIMEOUT_S) -> socket.socket:
        """A TCP connection to COM2 (needs com2="tcp"). QEMU creates its
        chardevs before the guest runs, so once COM1 has said anything the
        listener exists: connect then, once, without retry loops."""
        if self.com2_port is None:
            raise QemuError('COM2 is not on TCP: start with com2="tcp"')
        s = self._com1
        with s.cond:
            if not s.cond.wait_for(lambda: s.data or s.eof, timeout):
                raise QemuTimeout(self._describe(f"no COM1 output within {timeout:.1f} s"))
        return socket.create_connection((LOOPBACK, self.com2_port), timeout=timeout)

    def _describe(self, what: str) -> str:
        tail = self.tail()
        err = self.stderr_text.strip()
        msg = [what, f"command: {format_argv(self.argv)}",
               f"--- last {len(tail)} chars of COM1 ---", tail or "(nothing)"]
        if err:
            msg += ["--- QEMU stderr ---", err[-ERROR_TAIL_BYTES:]]
        return "\n".join(msg)


# --------------------------------------------------------------------------
# CLI

def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="exo_qemu.py",
        description="Boot Exo-OS in QEMU with the shell (COM1) on this terminal.",
        epilog="Everything after `--` goes to QEMU unchanged. On a terminal, "
               f"COM1 is multiplexed with the QEMU monitor: {ESCAPE_NAME} x quits, "
               f"{ESCAPE_NAME} c toggles the monitor; every other key (Ctrl-A, Ctrl-C...) "
               "reaches the shell. Exit status 2: bad arguments.")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--pvh", action="store_true",
                       help="boot build/exo-kernel directly (-kernel, PVH) on -M pc")
    where.add_argument("--microvm", action="store_true",
                       help="boot build/exo-kernel directly on -M microvm")
    p.add_argument("--kvm", action="store_true", help="use KVM instead of TCG")
    p.add_argument("--mem", type=int, default=DEFAULT_MEM_MIB, metavar="MIB",
                   help=f"guest RAM in MiB (default {DEFAULT_MEM_MIB})")
    p.add_argument("--append", metavar="ARGS",
                   help="extra kernel command line (PVH: -append; ISO: rebuilt "
                        "in a temp dir with ARGS on grub.cfg's multiboot2 line)")
    p.add_argument("--gdb-port", type=int, metavar="N",
                   help=f"COM2 (GDB stub) on tcp:{LOOPBACK}:N; 0 picks a free port")
    p.add_argument("--com1", metavar="CHARDEV",
                   help="COM1 chardev (default: stdio; `tcp:PORT` means "
                        f"tcp:{LOOPBACK}:PORT,server=on,wait=on)")
    p.add_argument("--build-dir", "--kernel-dir", dest="build_dir", type=Path,
                   default=Path(os.environ.get("EXO_BUILD_DIR", DEFAULT_BUILD_DIR)),
                   help="where exo.iso / exo-kernel live (default: <repo>/build or $EXO_BUILD_DIR)")
    p.add_argument("--dry-run", action="store_true", help="print the QEMU command, run nothing")
    p.add_argument("qemu_args", nargs="*", metavar="-- QEMU_ARGS")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse_args(argv)
    mode = BootMode.MICROVM if args.microvm else BootMode.PVH if args.pvh else BootMode.ISO
    spec = LaunchSpec(mode=mode, build_dir=args.build_dir,
                      accel=Accel.KVM if args.kvm else Accel.TCG,
                      mem_mib=args.mem, append=args.append,
                      extra_args=tuple(args.qemu_args))
    escape = False
    try:
        problem = mem_problem(mode, args.mem)
        if problem:
            raise ValueError(problem)
        if args.gdb_port is not None and not 0 <= args.gdb_port <= 65535:
            raise ValueError(f"--gdb-port {args.gdb_port}: a TCP port is 0..65535")
        if args.com1:
            spec.com1 = normalize_chardev(args.com1, wait=True)
        elif sys.stdin.isatty():
            # Ctrl-C to the guest; the mux escape moved off the shell's keys
            spec.com1 = "mon:stdio"
            spec.extra_args = ("-echr", f"0x{ESCAPE_KEY:02x}", *spec.extra_args)
            escape = True
        if args.gdb_port is not None:
            port = args.gdb_port or free_tcp_port()
            spec.com2 = tcp_chardev(port, wait=False)
    except ValueError as e:
        print(f"exo_qemu.py: {e}", file=sys.stderr)
        return 2

    needs_iso = mode is BootMode.ISO and bool(args.append)
    tmp = None
    if needs_iso:
        tmp = Path(tempfile.mkdtemp(prefix="exo-qemu-"))
        spec.iso = tmp / "exo.iso"
    argv_q = build_argv(spec)
    if needs_iso:
        print(f"# ISO rebuilt with `{args.append}` on grub.cfg's multiboot2 line",
              file=sys.stderr)
    print(format_argv(argv_q), file=sys.stderr)
    if args.gdb_port is not None:
        print(f"gdb: gdb {args.build_dir / 'exo-kernel.elf'} -ex "
              f"'target remote {LOOPBACK}:{port}'", file=sys.stderr)
    if args.dry_run:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0

    artifact = args.build_dir / "exo.iso" if needs_iso else spec.boot_artifact()
    if not artifact.is_file():
        print(f"exo_qemu.py: {artifact} does not exist: build the kernel first", file=sys.stderr)
        return 1
    # Last before the boot log (3 to 6 lines), so still on screen at the prompt.
    if not args.com1:
        print("\n".join(session_hint(escape)), file=sys.stderr, flush=True)
    if not needs_iso:
        os.execvp(argv_q[0], argv_q)
    try:
        make_append_iso(args.build_dir, args.append, tmp)
        proc = subprocess.Popen(argv_q)
        # QEMU owns the terminal; a Ctrl-C meant for it must not kill us
        # before we clean up the temp ISO. (Ignored only after the spawn, so
        # QEMU does not inherit SIG_IGN.)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
