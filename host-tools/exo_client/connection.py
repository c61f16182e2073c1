"""Talking to the Exo-OS shell on COM1.

A `Transport` moves bytes: `SerialTransport` is anything pyserial opens
(`socket://HOST:PORT`, a pty, a serial device), `QemuTransport` is the COM1
pipe of a QEMU this client started through exo_qemu. A `Shell` speaks the
line protocol on top of it: wait for the `exo> ` prompt, type a command,
match its echo, read until the next prompt, and turn `CMD --json`'s one line
of JSON into a dict (schema checked). `open_session` picks the transport
from `--connect`, or launches QEMU, and always stops that QEMU again.

Every failure is an `ExoError` subclass with a message meant for a person
and an exit status for the CLI.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Optional, TextIO, Union

from . import KNOWN_SCHEMA

try:
    import exo_qemu
except ImportError:  # running from the repo without host-tools on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import exo_qemu

PROMPT = b"exo> "
# A prompt at the start of what is left to read, or right after a newline.
_PROMPT_AT_LINE_START = re.compile(rb"(?:^|\n)exo> ")
_ANY_BYTES = re.compile(rb".+", re.DOTALL)
_NEWLINE = re.compile(rb"\r?\n")

KILL_LINE = b"\x15"    # Ctrl-U: clears any half-typed line; also stops `watch`
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_BOOT_TIMEOUT_S = exo_qemu.DEFAULT_BOOT_TIMEOUT_S
SERIAL_BAUD = 115200

# Exit statuses (the CLI's; documented in `exo --help`).
EXIT_OK = 0
EXIT_KERNEL_ERROR = 1    # the kernel answered `error: ...`
EXIT_USAGE = 2           # bad command line (argparse's own status)
EXIT_UNREACHABLE = 3     # could not connect / launch, or the connection died
EXIT_TIMEOUT = 4         # no prompt / echo / output within the timeout
EXIT_PROTOCOL = 5        # unparseable JSON, missing or too new schema


# --------------------------------------------------------------------------
# Errors

class ExoError(Exception):
    """Something a user should read; `exit_status` is what `exo` returns."""
    exit_status = 1


class UsageError(ExoError):
    """An argument that cannot work, found before anything is started."""
    exit_status = EXIT_USAGE


class NotReachable(ExoError):
    exit_status = EXIT_UNREACHABLE


class ConnectionLost(ExoError):
    exit_status = EXIT_UNREACHABLE


class PromptTimeout(ExoError):
    exit_status = EXIT_TIMEOUT


class ProtocolError(ExoError):
    exit_status = EXIT_PROTOCOL


class BadJson(ProtocolError):
    def __init__(self, command: str, line: str, err: json.JSONDecodeError):
        self.command, self.line, self.error = command, line, err
        super().__init__(
            f"`{command}` printed a line that is not valid JSON ({err.msg} at column {err.colno}):\n"
            + excerpt(line, err.pos))


class SchemaTooNew(ProtocolError):
    def __init__(self, command: str, schema: int):
        self.command, self.schema = command, schema
        super().__init__(
            f"`{command}` answered with JSON schema {schema}, but this client only knows "
            f"schema {KNOWN_SCHEMA} or older: update host-tools/exo to match the kernel")


class KernelError(ExoError):
    exit_status = EXIT_KERNEL_ERROR

    def __init__(self, command: str, line: str):
        self.command, self.line = command, line
        super().__init__(f"the kernel rejected `{command}`: {line}")


def excerpt(line: str, pos: int, width: int = 100) -> str:
    """`line` (or a window of it around `pos`) with a caret under `pos`."""
    pos = max(0, min(pos, len(line)))
    start = max(0, pos - width // 2)
    end = min(len(line), start + width)
    start = max(0, end - width)
    head = "..." if start else ""
    tail = "..." if end < len(line) else ""
    shown = head + line[start:end] + tail
    return f"  {shown}\n  {' ' * (len(head) + pos - start)}^"


def tail_text(data: Union[bytes, bytearray, str], n: int = 600) -> str:
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode(errors="replace")
    data = data[-n:]
    return data if data.strip() else "(nothing)"


# --------------------------------------------------------------------------
# Parsing what the shell printed (pure functions: the fixture tests use them)

def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_schema(obj: dict, command: str) -> dict:
    schema = obj.get("schema")
    if schema is None:
        raise ProtocolError(f"`{command}` printed JSON without a \"schema\" key:\n  {json.dumps(obj)[:200]}")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise ProtocolError(f"`{command}` printed JSON with a bad \"schema\" value {schema!r}")
    if schema > KNOWN_SCHEMA:
        raise SchemaTooNew(command, schema)
    return obj


def parse_json_line(command: str, line: str) -> dict:
    """One line of JSON -> dict, schema checked."""
    line = line.strip()
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise BadJson(command, line, e) from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"`{command}` printed JSON that is not an object:\n  {line[:200]}")
    return check_schema(obj, command)


def parse_json_output(command: str, output: str) -> dict:
    """What `CMD --json` printed between its echo and the next prompt ->
    the dict. An `error:` line raises KernelError; exactly one line that
    starts with `{` is expected (other lines, e.g. a kernel log message, are
    ignored)."""
    lines = [ln.strip() for ln in normalize_newlines(output).split("\n")]
    for ln in lines:
        if ln.startswith("error:"):
            raise KernelError(command, ln)
    candidates = [ln for ln in lines if ln.startswith("{")]
    if not candidates:
        shown = "\n".join("  " + ln for ln in lines if ln) or "  (nothing)"
        raise ProtocolError(f"`{command}` printed no JSON line; it printed:\n{shown}")
    if len(candidates) > 1:
        shown = "\n".join("  " + ln[:160] for ln in candidates)
        raise ProtocolError(f"`{command}` printed {len(candidates)} JSON lines, expected one:\n{shown}")
    return parse_json_line(command, candidates[0])


@dataclasses.dataclass
class TranscriptEntry:
    command: str    # the line typed after the prompt
    output: str     # what came back before the next prompt (LF newlines)


TERMINAL_CONTROL = re.compile(r"\x1b(?:\[[0-9;?]*[@-~]|[78])")


def parse_transcript(text: Union[str, bytes]) -> tuple[str, list[TranscriptEntry]]:
    """Split a recorded COM1 session (boot log, then `exo> CMD` / output
    pairs) into (boot log, entries). Line editing is not replayed: the
    typed line is taken as echoed."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    text = normalize_newlines(text)
    parts = text.split(PROMPT.decode())
    boot_log = parts[0]
    entries = []
    for part in parts[1:]:
        command, _, output = part.partition("\n")
        # Terminal control after the prompt (the first one asks the width:
        # ESC 7, CSI 999 C, CSI 6 n, ESC 8) is not what was typed.
        command = TERMINAL_CONTROL.sub("", command.replace("\x15", "")).strip()
        if not command and not output:
            continue
        entries.append(TranscriptEntry(command, output.rstrip("\n")))
    return boot_log, entries


# --------------------------------------------------------------------------
# Transports

class Transport:
    """Bytes to and from COM1."""
    description = "?"

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` (b"" if nothing). Raises
        ConnectionLost when the other end is gone."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def resolve_url(spec: str) -> str:
    """`--connect` value -> a pyserial URL: `tcp:HOST:PORT` (or `tcp:PORT`,
    `HOST:PORT`) -> socket://HOST:PORT; URLs (`socket://`, `rfc2217://`,
    `loop://`, ...) and device / pty paths pass through."""
    spec = spec.strip()
    if "://" in spec:
        return spec
    m = re.fullmatch(r"tcp:(\d+)", spec)
    if m:
        return f"socket://{exo_qemu.LOOPBACK}:{m.group(1)}"
    m = re.fullmatch(r"(?:tcp:)?(\[[^\]]+\]|[^:/\s]+):(\d+)", spec)
    if m:
        return f"socket://{m.group(1)}:{m.group(2)}"
    if spec.startswith("tcp:"):
        raise NotReachable(f"--connect {spec!r}: expected tcp:HOST:PORT")
    return spec


class SerialTransport(Transport):
    """Anything pyserial's serial_for_url opens."""

    def __init__(self, spec: str, baudrate: int = SERIAL_BAUD):
        try:
            import serial  # Debian: python3-serial
        except ImportError:
            raise NotReachable("pyserial is missing (Debian: apt-get install python3-serial)") from None
        self._serial_mod = serial
        self.url = resolve_url(spec)
        self.description = spec if spec == self.url else f"{spec} ({self.url})"
        if "://" not in self.url and not os.path.exists(self.url):
            raise NotReachable(f"cannot connect to {spec}: no such device, pty or URL "
                               "(expected tcp:HOST:PORT, socket://HOST:PORT or a device path)")
        try:
            self.ser = serial.serial_for_url(self.url, baudrate=baudrate, timeout=0)
        except (serial.SerialException, ValueError, OSError) as e:
            raise NotReachable(f"cannot connect to {self.description}: {e}\n"
                               "(is the kernel running, and is COM1 on that port/device?)") from None
        self._timeout = 0.0

    def _set_timeout(self, t: float) -> None:
        if t != self._timeout:
            self.ser.timeout = t
            self._timeout = t

    def read(self, timeout: float) -> bytes:
        serial = self._serial_mod
        try:
            self._set_timeout(max(0.0, timeout))
            data = self.ser.read(1)
            if data:
                self._set_timeout(0.0)
                data += self.ser.read(65536)
            return data
        except (serial.SerialException, OSError) as e:
            raise ConnectionLost(f"lost the connection to {self.description}: {e}") from None

    def write(self, data: bytes) -> None:
        serial = self._serial_mod
        try:
            self.ser.write(data)
            self.ser.flush()
        except (serial.SerialException, OSError) as e:
            raise ConnectionLost(f"lost the connection to {self.description}: {e}") from None

    def close(self) -> None:
        try:
            self.ser.close()
        except Exception:
            pass


class QemuTransport(Transport):
    """COM1 of an exo_qemu.Qemu (a pipe), read through its public wait_for."""

    def __init__(self, qemu: "exo_qemu.Qemu"):
        self.qemu = qemu
        self.description = (f"QEMU ({qemu.spec.mode.value} boot of {qemu.spec.boot_artifact().name}, "
                            f"pid {qemu.proc.pid if qemu.proc else '?'})")

    def _lost(self, what: str) -> ConnectionLost:
        status = self.qemu.returncode
        err = self.qemu.stderr_text.strip()
        msg = f"{what}: QEMU exited" + (f" with status {status}" if status is not None else "")
        if err:
            msg += f"\n--- QEMU stderr ---\n{err[-1000:]}"
        return ConnectionLost(msg)

    def read(self, timeout: float) -> bytes:
        try:
            return self.qemu.wait_for(_ANY_BYTES, max(0.0, timeout)).text
        except exo_qemu.QemuTimeout:
            return b""
        except exo_qemu.QemuExited:
            raise self._lost("lost the kernel") from None

    def write(self, data: bytes) -> None:
        try:
            self.qemu.send(data)
        except exo_qemu.QemuExited:
            raise self._lost("cannot write to COM1") from None


# --------------------------------------------------------------------------
# The shell protocol

class Shell:
    """The `exo> ` line protocol over a Transport."""

    def __init__(self, transport: Transport, timeout: float = DEFAULT_TIMEOUT_S,
                 transcript: Optional[TextIO] = None):
        self.transport = transport
        self.timeout = timeout
        self.transcript = transcript
        self.buf = bytearray()

    # -- bytes ---------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def _read_more(self, deadline: float) -> None:
        data = self.transport.read(min(max(0.0, deadline - time.monotonic()), 0.25))
        if data:
            self.buf += data
            if self.transcript is not None:
                self.transcript.write(data.decode(errors="replace"))
                self.transcript.flush()

    def read_until(self, pattern: "re.Pattern[bytes]", timeout: float, what: str,
                   hint: str = "") -> tuple[bytes, "re.Match[bytes]"]:
        """Consume the buffer up to the end of `pattern`'s first match;
        returns (bytes before the match, the match)."""
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.buf)
            if m:
                before = bytes(self.buf[:m.start()])
                matched = m
                del self.buf[:m.end()]
                return before, matched
            if time.monotonic() >= deadline:
                raise PromptTimeout(
                    f"timed out after {timeout:.1f} s waiting for {what} from "
                    f"{self.transport.description}{hint}\n"
                    f"--- last output ---\n{tail_text(self.buf)}")
            self._read_more(deadline)

    # -- prompt / commands -----------------------------------------------------

    def wait_prompt(self, timeout: Optional[float] = None) -> str:
        """Wait for `exo> `; returns what came before it (e.g. the boot log)."""
        before, _ = self.read_until(re.compile(re.escape(PROMPT)), self.timeout if timeout is None else timeout,
                                    "the `exo> ` prompt",
                                    hint=" (is the kernel booted, and is this COM1?)")
        return before.decode(errors="replace")

    def attach(self, timeout: Optional[float] = None) -> None:
        """Get a fresh prompt from a kernel that may be idle at its prompt,
        in the middle of a typed line, or running `watch`."""
        self.write(KILL_LINE + b"\r")
        self.wait_prompt(timeout)

    def command(self, line: str, timeout: Optional[float] = None) -> str:
        """Type `line`, return its output (LF newlines, no echo, no prompt)."""
        line = line.strip()
        timeout = self.timeout if timeout is None else timeout
        self.write(KILL_LINE + line.encode() + b"\r")
        echo = re.compile(re.escape(line.encode()) + rb"\r?\n")
        self.read_until(echo, timeout, f"the echo of `{line}`",
                        hint=" (the shell is not answering)")
        out, _ = self.read_until(_PROMPT_AT_LINE_START, timeout,
                                 f"the `exo> ` prompt after `{line}`")
        return normalize_newlines(out.decode(errors="replace")).rstrip("\n")

    def query(self, command: str, timeout: Optional[float] = None) -> dict:
        """`command --json` -> dict."""
        command = command.strip()
        if command.endswith(" --json"):
            command = command[:-len(" --json")]
        full = f"{command} --json"
        return parse_json_output(full, self.command(full, timeout))

    def watch(self, command: str, interval_ms: int) -> "Watch":
        return Watch(self, command, interval_ms)


@dataclasses.dataclass
class Sample:
    t: float          # host monotonic seconds at arrival
    data: dict


class Watch:
    """`watch CMD MS`: one JSON line per period until a byte is sent."""

    def __init__(self, shell: Shell, command: str, interval_ms: int):
        self.shell = shell
        self.command = f"{command} --json"
        self.line = f"watch {command} {int(interval_ms)}"
        self.running = True
        shell.write(KILL_LINE + self.line.encode() + b"\r")
        shell.read_until(re.compile(re.escape(self.line.encode()) + rb"\r?\n"),
                         shell.timeout, f"the echo of `{self.line}`")

    _LINE_OR_PROMPT = re.compile(rb"\r?\n|^exo> ")

    def next(self, timeout: float) -> Optional[Sample]:
        """The next sample, or None if none arrived within `timeout`."""
        deadline = time.monotonic() + timeout
        sh = self.shell
        while True:
            m = self._LINE_OR_PROMPT.search(sh.buf)
            if m:
                if m.group(0) == PROMPT:
                    self.running = False
                    del sh.buf[:m.end()]
                    raise ProtocolError(f"`{self.line}` stopped by itself (the prompt came back)")
                line = bytes(sh.buf[:m.start()]).decode(errors="replace").strip()
                del sh.buf[:m.end()]
                if not line:
                    continue
                if line.startswith("error:"):
                    self.running = False
                    sh.read_until(_PROMPT_AT_LINE_START, sh.timeout, "the prompt")
                    raise KernelError(self.line, line)
                if line.startswith("{"):
                    return Sample(time.monotonic(), parse_json_line(self.command, line))
                continue  # a kernel message in between
            if time.monotonic() >= deadline:
                return None
            sh._read_more(deadline)

    def stop(self) -> list[Sample]:
        """Send one byte (the kernel's watch loop eats it), wait for the
        prompt; the samples that arrived in between."""
        if not self.running:
            return []
        self.running = False
        sh = self.shell
        sh.write(KILL_LINE)
        out, _ = sh.read_until(_PROMPT_AT_LINE_START, sh.timeout,
                               f"the prompt after stopping `{self.line}`")
        now = time.monotonic()
        samples = []
        for ln in normalize_newlines(out.decode(errors="replace")).split("\n"):
            ln = ln.strip()
            if ln.startswith("{"):
                try:
                    samples.append(Sample(now, parse_json_line(self.command, ln)))
                except BadJson:
                    pass  # the line the stop byte cut short, if any
        return samples


# --------------------------------------------------------------------------
# Sessions: connect, or launch our own QEMU

def repo_dir() -> Optional[Path]:
    repo = Path(__file__).resolve().parents[2]
    return repo if (repo / "CMakeLists.txt").is_file() and (repo / "kernel").is_dir() else None


def default_build_dir() -> Path:
    env = os.environ.get("EXO_BUILD_DIR")
    if env:
        return Path(env)
    repo = repo_dir()
    return (repo / "build") if repo else Path.cwd() / "build"


@dataclasses.dataclass
class LaunchOptions:
    build_dir: Path = dataclasses.field(default_factory=default_build_dir)
    mode: "exo_qemu.BootMode" = exo_qemu.BootMode.PVH
    kvm: bool = False
    append: Optional[str] = None
    mem_mib: int = exo_qemu.DEFAULT_MEM_MIB


class Session:
    """A shell, and the QEMU behind it if we started one."""

    def __init__(self, shell: Shell, qemu: Optional["exo_qemu.Qemu"] = None,
                 boot_log: str = "", prompt_after_s: Optional[float] = None):
        self.shell = shell
        self.qemu = qemu
        self.boot_log = boot_log
        self.prompt_after_s = prompt_after_s   # QEMU start -> prompt (launched only)

    @property
    def where(self) -> str:
        return self.shell.transport.description

    def close(self) -> None:
        try:
            self.shell.transport.close()
        finally:
            if self.qemu is not None:
                self.qemu.kill()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def launch_qemu(opts: LaunchOptions, com2: Optional[str] = None) -> "exo_qemu.Qemu":
    mode = exo_qemu.BootMode(opts.mode)
    artifact = exo_qemu.LaunchSpec(mode=mode, build_dir=Path(opts.build_dir)).boot_artifact()
    if not artifact.is_file():
        raise NotReachable(
            f"{artifact} does not exist: build the kernel first (`exo run` builds it, or "
            f"cmake -S . -B build -G Ninja && cmake --build build), or pass --build-dir / --connect")
    try:
        return exo_qemu.Qemu(mode, build_dir=opts.build_dir,
                             accel=exo_qemu.Accel.KVM if opts.kvm else exo_qemu.Accel.TCG,
                             mem_mib=opts.mem_mib, append=opts.append, com2=com2)
    except (OSError, exo_qemu.QemuError, ValueError) as e:
        raise NotReachable(f"cannot start QEMU ({exo_qemu.QEMU_BINARY}): {e}") from None


def open_session(connect: Optional[str] = None, *, launch: Optional[LaunchOptions] = None,
                 timeout: float = DEFAULT_TIMEOUT_S, boot_timeout: float = DEFAULT_BOOT_TIMEOUT_S,
                 transcript: Optional[TextIO] = None) -> Session:
    """Connect to `connect` (then get a fresh prompt), or launch QEMU and
    wait for the boot prompt. The caller closes the Session (it kills the
    QEMU it launched)."""
    if connect:
        transport = SerialTransport(connect)
        shell = Shell(transport, timeout, transcript)
        try:
            shell.attach(timeout)
        except BaseException:
            transport.close()
            raise
        return Session(shell)
    q = launch_qemu(launch or LaunchOptions())
    try:
        shell = Shell(QemuTransport(q), timeout, transcript)
        boot_log = shell.wait_prompt(boot_timeout)
        elapsed = time.monotonic() - q.start_time if q.start_time else None
        return Session(shell, q, boot_log, elapsed)
    except BaseException:
        q.kill()
        raise
