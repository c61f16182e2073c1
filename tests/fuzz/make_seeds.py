#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/ (committed; rerun after a
change to a target's input format). Each seed is a meaningful input in that
target's own format (the comment at the top of each *_fuzz.cc): real gdb
packets, real command lines, the GRUB Multiboot2 block and QEMU's ACPI
tables from tests/fixtures, QEMU's PCI devices, key presses, ...
Inputs that once crashed a target (regress_*) are kept as they were found
and not written here; symbol_table's seeds predate this script.

Usage: tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'fixtures')
CORPUS = os.path.join(HERE, 'corpus')


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), 'wb') as f:
        f.write(bytes(data))


def u8(x):
    return struct.pack('<B', x & 0xFF)


def u16(x):
    return struct.pack('<H', x & 0xFFFF)


def u32(x):
    return struct.pack('<I', x & 0xFFFFFFFF)


def u64(x):
    return struct.pack('<Q', x & 0xFFFFFFFFFFFFFFFF)


# ---- GDB remote protocol -----------------------------------------------------

def rsp_frame(body):
    raw = b''
    for c in body:
        raw += bytes([0x7D, c ^ 0x20]) if c in b'#$}*' else bytes([c])
    return b'$' + raw + b'#%02x' % (sum(raw) & 0xFF)


def rsp_codec():
    hello = b'qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;vContSupported+;xmlRegisters=i386'
    write('rsp_codec', 'session', b'+' + rsp_frame(hello) + b'+' + rsp_frame(b'Hg0') + b'+' + rsp_frame(b'g')
          + b'+' + rsp_frame(b'mffffffff80100000,40') + b'-' + b'-' + b'+')
    write('rsp_codec', 'no_ack_mode', b'+' + rsp_frame(b'QStartNoAckMode') + b'+' + rsp_frame(b'?')
          + rsp_frame(b'vCont;s:1') + b'+' + rsp_frame(b'c'))
    write('rsp_codec', 'escapes_and_ctrl_c', rsp_frame(b'Xffffffff80100000,4:$#}*') + b'+\x03'
          + b'$m10,8#00' + b'$g#6' + b'$?#3f')
    write('rsp_codec', 'resync_and_noise', b'garbage$qAtt$qAttached#8f+\r\n' + rsp_frame(b'qC'))
    write('rsp_codec', 'oversized', rsp_frame(b'M0,1000:' + b'00' * 0x420) + rsp_frame(b'?'))
    write('rsp_codec', 'gave_up', rsp_frame(b'?') + b'----+')


BASE = 0xffffffff80100000


def gdb_packet(body):
    return u8(0) + u16(len(body)) + body


def gdb_raw(data):
    return u8(3) + u8(len(data)) + data


def gdb_stop(cause, vector, dr6, thread):
    return u8(4) + u8(cause) + u8(vector) + u8(dr6) + u8(thread)


def gdb_hit(thread, pick=0):
    return u8(5) + u8(thread - 1) + u16(pick)


def hexnum(x):
    return b'%x' % x


def gdb_stub():
    hello = b'qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;vContSupported+;xmlRegisters=i386'
    opening = [hello, b'vMustReplyEmpty', b'Hg0', b'qXfer:features:read:target.xml:0,ffb', b'qTStatus', b'?',
               b'qfThreadInfo', b'qsThreadInfo', b'qAttached', b'Hc-1', b'qOffsets', b'g',
               b'm' + hexnum(BASE + 0x2000) + b',40', b'qSymbol::', b'qXfer:threads:read::0,ffb',
               b'qXfer:threads:read::10,7', b'qSearch:memory:' + hexnum(BASE + 0x7e0) + b';2000;' + bytes(range(20)),
               b'qSearch:memory:' + hexnum(BASE + 0x2f00) + b';200;ab']
    # gdb=wait: the kernel stops before gdb comes, then a whole session.
    s = u8(1) + b''.join(gdb_packet(p) for p in opening)
    s += gdb_packet(b'Z0,' + hexnum(BASE + 0x100) + b',1') + gdb_packet(b'vCont;c') + gdb_hit(1)
    s += gdb_packet(b'z0,' + hexnum(BASE + 0x100) + b',1') + gdb_packet(b'vCont;s:1') + gdb_packet(b'p10')
    s += gdb_packet(b'X' + hexnum(BASE + 0x2000) + b',8:\x88wfUD3"\x11')
    s += u8(6) + u8(1) + u16(14) + b'you said: hi\r\n' + gdb_packet(b'qRcmd,6869') + gdb_packet(b'D')
    write('gdb_stub', 'session_from_boot', s)
    # gdb attaches to the running kernel, Ctrl-C, then a fault and a detach.
    s = u8(0) + gdb_raw(b'+') + gdb_packet(hello) + gdb_packet(b'?') + gdb_packet(b'c')
    s += gdb_raw(b'\x03') + gdb_packet(b'T2') + gdb_packet(b'Hg2') + gdb_packet(b'g') + gdb_packet(b'c')
    s += gdb_stop(1, 14, 0, 2) + gdb_packet(b'qC') + gdb_packet(b'k')
    write('gdb_stub', 'attach_while_running', s)
    # Watchpoints over several debug registers, a hardware breakpoint, a stop on each.
    s = u8(1) + gdb_packet(b'Z2,' + hexnum(BASE + 0x208) + b',8') + gdb_packet(b'Z4,' + hexnum(BASE + 0x301) + b',13')
    s += gdb_packet(b'Z1,' + hexnum(BASE + 0x40) + b',1') + gdb_packet(b'Z2,' + hexnum(BASE + 0x400) + b',20')
    s += gdb_packet(b'c') + gdb_stop(1, 1, 2, 1) + gdb_packet(b'z4,' + hexnum(BASE + 0x301) + b',13')
    s += gdb_packet(b'Z3,' + hexnum(BASE) + b',4') + gdb_packet(b'c') + gdb_stop(1, 1, 1, 1) + gdb_packet(b'D')
    write('gdb_stub', 'watchpoints', s)
    # Registers written whole and one by one, memory in hex and binary, qCRC.
    g = b''
    for i in range(55):
        size = 10 if 24 <= i <= 31 else 4 if 17 <= i <= 23 or 32 <= i <= 39 else 8
        g += b'xx' * size if 24 <= i <= 39 else b'%02x' % i * size
    s = u8(1) + gdb_packet(b'G' + g) + gdb_packet(b'P0=0807060504030201') + gdb_packet(b'P11=02030000')
    s += gdb_packet(b'M' + hexnum(BASE + 0x10) + b',4:deadbeef') + gdb_packet(b'qCRC:1000,100')
    s += gdb_packet(b'm' + hexnum(BASE + 0x2ff0) + b',40') + gdb_packet(b'm10,8') + gdb_packet(b'QStartNoAckMode')
    s += gdb_raw(b'+') + gdb_packet(b'qXfer:features:read:target.xml:7f0,20') + gdb_packet(b'vCont?')
    write('gdb_stub', 'registers_and_memory', s)
    # 33 software breakpoints (one too many), a step from one, a hit inside the debugger.
    s = u8(1) + b''.join(gdb_packet(b'Z0,' + hexnum(BASE + 0x10 * i) + b',1') for i in range(33))
    s += gdb_packet(b'Z0,' + hexnum(BASE + 0x2010) + b',1')  # on the debugger's own path: refused
    s += gdb_packet(b'c') + u8(7) + u16(0x40) + gdb_hit(1, 3) + gdb_packet(b's') + gdb_packet(b'c')
    s += gdb_stop(0, 0, 0, 1) + gdb_packet(b'D')
    write('gdb_stub', 'many_breakpoints', s)


# ---- Shell -------------------------------------------------------------------

def tokenizer():
    lines = {
        'json_flag': b'mem --json',
        'address': b'pages 0xffffffff80000000',
        'quotes': b'x "a b" \'c d\' e"f g"h \'\'',
        'escapes': b'echo "say \\"hi\\" \\\\ \\n" back\\slash',
        'unterminated': b'watch "mem --json',
        'too_many_words': b' '.join(b'w%d' % i for i in range(17)),
        'too_long': b'x' * 257,
        'max_u64': b'18446744073709551615 18446744073709551616 0XFFFFFFFFFFFFFFFF 0x 0x1g',
        'tabs': b'\tinit\t\tdeferred  ',
    }
    for name, line in lines.items():
        write('tokenizer', name, line)


ESC = b'\x1b'


def line_editor():
    left, right, up, down = ESC + b'[D', ESC + b'[C', ESC + b'[A', ESC + b'[B'
    def width(columns):  # the terminal answers the width query with this
        return u8(columns - 20 + 1)

    head = u8(0) + u8(0) + u8(1) + width(80)  # full capacity, "exo> ", completion on, 80 columns
    write('line_editor', 'edit_and_enter', head + b'mem --jsn' + left + left + b'o' + b'\x01x' + b'\x05'
          + b'\x7f\x7f' + ESC + b'[3~' + ESC + b'[H' + ESC + b'[F' + ESC + b'OH' + b'\r\n')
    write('line_editor', 'history', head + b'boot\rmem\r' + up + up + up + down + b'x' + down + down + b'\r')
    write('line_editor', 'kill_keys', head + b'pages 0x1000 --json' + b'\x17\x17' + b'\x02\x02\x0b'
          + b'\x06\x15' + b'\x0c' + b'help\x03')
    write('line_editor', 'completion', head + b'me\t\tm\t' + b'\x15p\t' + b'\x15w\t' + b'\x15ab\t\r')
    write('line_editor', 'print_above', head + b'mem' + b'\xff\x0e[0.1] log line' + left + b'\xff\x00' + b'\r')
    write('line_editor', 'over_the_limit', u8(8) + u8(2) + u8(0) + u8(0) + b'0123456789abc\r' + b'short\r')
    # Lines wider than the terminal: moves across the wrap, a full last column, a log line above, Ctrl-L.
    narrow = u8(0) + u8(0) + u8(1) + width(20)
    write('line_editor', 'wrapped', narrow + b'uptime ' + b'b' * 50 + b'\x01' + b'\x06' * 6 + b'\x0b' + b'x' * 8
          + b'\x01\x05' + b'\x7f' * 3 + b'\xff\x03log' + b'\x0c' + b'\x02' * 20 + b'yy\x17\x15' + b'me\t' + b'\r')
    write('line_editor', 'wide', u8(0) + u8(2) + u8(1) + width(200) + b'a' * 194 + b'\x7fz' + b'q' * 60 + b'\x01'
          + b'\x1b[F' + up + b'\r' + up + b'\r')
    write('line_editor', 'escape_noise', head + ESC + b'[1;5C' + ESC + b'[200~' + ESC + b'O' + ESC + ESC + b'[7~'
          + ESC + b'[99999D' + ESC + b'[\r' + b'\xe9\x80' + b'x' * 20 + ESC + b'[' + b'1' * 20 + b'D\r')


def command_table():
    def execute(line, debugger=False):
        return u8(0) + u8(1 if debugger else 0) + u16(len(line)) + line

    def complete(line, cursor):
        return u8(3) + u16(len(line)) + line + u16(cursor)

    def dispatch(words, debugger=False):
        index = [b'mem', b'memmap', b'pages', b'init', b'drivers', b'watch', b'fails', b'reports', b'nop', b'help',
                 b'--json', b'0x1000', b'', b'x']
        return u8(2) + u8(1 if debugger else 0) + u16(len(words)) + b''.join(u16(index.index(w)) for w in words)

    write('command_table', 'commands', execute(b'help') + execute(b'help --json') + execute(b'mem extra')
          + execute(b'pages 0x1000 --json') + execute(b'frobnicate') + execute(b'watch mem', True)
          + execute(b'nop') + execute(b'fails') + execute(b'reports "a b"') + execute(b'help pages')
          + execute(b'help nothere') + execute(b'"unterminated'))
    write('command_table', 'completion', complete(b'me', 2) + complete(b'help pa', 7) + complete(b'init d', 6)
          + complete(b'drivers p', 9) + complete(b'mem -', 5) + complete(b'--json pa', 9) + complete(b'', 0))
    write('command_table', 'dispatch', dispatch([b'mem', b'--json']) + dispatch([b'watch', b'mem'], True)
          + dispatch([b'x'] * 17) + dispatch([b'pages', b'0x1000', b'x']))


# ---- Boot --------------------------------------------------------------------

def mb2_tag(kind, payload):
    tag = u32(kind) + u32(8 + len(payload)) + payload
    return tag + b'\0' * (-len(tag) % 8)


def mb2_block(tags):
    body = b''.join(tags) + mb2_tag(0, b'')
    return u32(8 + len(body)) + u32(0) + body


def json_writer():
    def key(name):
        return u8(4) + u8(len(name)) + name

    def text(data, form=0):
        return u8(5) + u8(form) + u8(len(data)) + data

    # What `mem --json` looks like: an object of numbers, strings, an array of objects.
    doc = u8(0) + key(b'free_kib') + u8(6) + u64(1024) + key(b'name') + text(b'x\ny"\\\xe9\x04\x7f')
    doc += key(b'delta') + u8(7) + u64(-5) + key(b'on') + u8(8) + u8(1) + key(b'gone') + u8(8) + u8(2)
    doc += key(b'c') + text(b'nul\0cut', 1) + key(b'base') + u8(9) + u64(0xffffffff80000000) + key(b'regions') + u8(2)
    doc += u8(0) + key(b'start') + u8(9) + u64(0x1000) + u8(1) + u8(0) + u8(1) + u8(3) + u8(1)
    write('json_writer', 'document', doc)
    write('json_writer', 'misuse', u8(0) + u8(6) + u64(1) + key(b'a') + key(b'b') + u8(3) + u8(1) + u8(2))
    write('json_writer', 'too_deep', u8(2) * 18 + u8(3) * 18)


def multiboot2():
    with open(os.path.join(FIXTURES, 'grub_mbi.bin'), 'rb') as f:
        write('multiboot2', 'grub_mbi', f.read())
    write('multiboot2', 'minimal', mb2_block([]))
    entries = b''.join(u64(i << 20) + u64(0x80000 if i % 3 else 0) + u32(1 + i % 6) + u32(0) for i in range(70))
    write('multiboot2', 'long_memory_map', mb2_block([mb2_tag(6, u32(24) + u32(0) + entries)]))
    rsdp_v1 = b'RSD PTR ' + b'\0' * 12
    rsdp_v2 = b'RSD PTR ' + b'\0' * 7 + b'\x02' + b'\0' * 20
    write('multiboot2', 'acpi_tags', mb2_block([mb2_tag(15, rsdp_v2), mb2_tag(14, rsdp_v1),
                                                  mb2_tag(3, u32(0x200000) + u32(0x201000) + b'initrd\0')]))
    long_line = b'/boot/exo-kernel log=verbose ' + '\u00e9'.encode() * 120 + b'\0'
    write('multiboot2', 'utf8_command_line', mb2_block([mb2_tag(1, long_line), mb2_tag(2, b'GRUB 2.06\0')]))


def pvh():
    def start_info(version, cmdline, rsdp, memmap, entries):
        return struct.pack('<IIIIQQQ', 0x336ec578, version, 0, 1, 0x1800, cmdline, rsdp) + (
            struct.pack('<QII', memmap, entries, 0) if version >= 1 else b'')

    def seed(main, other_base=0, other=b'', offset=0):
        return u16(offset) + u64(other_base) + u8(len(other)) + other + main

    qemu_map = [(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2), (0x100000, 0x1ee0000, 1),
                (0xfeffc000, 0x4000, 2), (0xfffc0000, 0x40000, 2)]
    main = bytearray(0x200)
    main[0:56] = start_info(1, 0x1040, 0xf59e0, 0x1080, len(qemu_map))
    cmd = b'deferred=auto log=verbose\0'
    main[0x40:0x40 + len(cmd)] = cmd
    for i, (a, s, t) in enumerate(qemu_map):
        main[0x80 + 24 * i:0x98 + 24 * i] = struct.pack('<QQII', a, s, t, 0)
    write('pvh', 'qemu_version1', seed(bytes(main)))
    write('pvh', 'version0', seed(start_info(0, 0x1030, 0, 0, 0) + b'\0' * 8 + b'gdb=wait\0'))
    # The command line runs into unreadable memory; the map is elsewhere.
    other = b''.join(struct.pack('<QQII', i << 21, 1 << 20, 1, 0) for i in range(10))
    write('pvh', 'split_memory', seed(start_info(1, 0x1038, 0, 0x80000000, 10) + b'x' * 8, 0x80000000, other))


def cmdline():
    lines = {
        'grub': b'/boot/exo-kernel deferred=auto gdb=wait log=verbose',
        'pvh_append': b'log=quiet gdb=panic',
        'problems': b'gdb deferred=sometimes log=loud console=ttyS0 quiet =x gdb=',
        'long_token': b'log=' + b'v' * 200 + b' gdb=off',
        'blanks': b'\t deferred=manual\n\rlog=normal\x0b\x0cgdb=on ',
        'later_wins': b'gdb=wait gdb=off log=quiet log=verbose',
    }
    for name, line in lines.items():
        write('cmdline', name, line)


# ---- Drivers -----------------------------------------------------------------

def checksum_fix(data, at):
    data[at] = (data[at] - sum(data)) & 0xFF


def acpi():
    with open(os.path.join(FIXTURES, 'qemu_pc_acpi_low.bin'), 'rb') as f:
        low = f.read()
    with open(os.path.join(FIXTURES, 'qemu_pc_acpi_high.bin'), 'rb') as f:
        high = f.read()
    at = low.find(b'RSD PTR ')
    rsdp = low[at:at + 36]
    tables = high[0x40:0x1b0c]  # DSDT, FACP, APIC, HPET, WAET, RSDT as SeaBIOS laid them out

    def region(base, data):
        return u32(base) + u16(len(data)) + bytes(data)

    write('acpi', 'qemu_pc_hint', u8(0) + u32(0xE0000 + at) + region(0xE0000 + at, rsdp) + region(0x1FE0040, tables))
    write('acpi', 'qemu_pc_scan', u8(0) + u32(0) + region(0xE0000 + at, rsdp) + region(0x1FE0040, tables))

    # ACPI 2.0+: XSDT, a full-length FADT with X_ blocks and a reset register,
    # and a small DSDT with Name (\_S5_, Package () {5, 5, 0, 0}).
    base = 0x7FE0000
    xsdt_at, fadt_at, dsdt_at = base, base + 0x100, base + 0x300
    aml = b'\x10\x0d\\_SB_' + b'\x08\\_S5_\x12\x08\x04\x0a\x05\x0a\x05\x00\x00'

    def header(sig, length, revision):
        return sig + u32(length) + u8(revision) + u8(0) + b'EXO   ' + b'EXOTABLE' + u32(1) + u32(0) + u32(0)

    dsdt = bytearray(header(b'DSDT', 36 + len(aml), 2) + aml)
    checksum_fix(dsdt, 9)
    fadt = bytearray(276)
    fadt[0:36] = header(b'FACP', 276, 6)
    struct.pack_into('<II', fadt, 36, 0, dsdt_at)
    struct.pack_into('<IBB', fadt, 48, 0xB2, 0xF1, 0xF0)
    struct.pack_into('<I', fadt, 64, 0x604)        # PM1a_CNT_BLK
    struct.pack_into('<I', fadt, 76, 0x608)        # PM_TMR_BLK
    fadt[89] = 2                                    # PM1_CNT_LEN
    struct.pack_into('<I', fadt, 112, (1 << 10) | (1 << 8))  # RESET_REG_SUP, TMR_VAL_EXT
    fadt[116:128] = bytes([1, 8, 0, 1]) + u64(0xCF9)        # RESET_REG: I/O port 0xCF9
    fadt[128] = 0x06                                        # RESET_VALUE
    struct.pack_into('<Q', fadt, 140, dsdt_at)              # X_DSDT
    fadt[172:184] = bytes([1, 16, 0, 2]) + u64(0x604)       # X_PM1a_CNT_BLK
    checksum_fix(fadt, 9)
    xsdt = bytearray(header(b'XSDT', 36 + 16, 1) + u64(fadt_at) + u64(0))
    checksum_fix(xsdt, 9)
    rsdp2 = bytearray(b'RSD PTR ' + b'\0' + b'EXO   ' + b'\x02' + u32(0) + u32(36) + u64(xsdt_at) + b'\0' * 4)
    rsdp2[8] = (rsdp2[8] - sum(rsdp2[:20])) & 0xFF
    rsdp2[32] = (rsdp2[32] - sum(rsdp2)) & 0xFF
    memory = bytearray(0x300 + len(dsdt))
    memory[0:len(xsdt)] = xsdt
    memory[0x100:0x100 + len(fadt)] = fadt
    memory[0x300:] = dsdt
    write('acpi', 'acpi2_xsdt_reset', u8(0) + u32(0xF0000) + region(0xF0000, rsdp2) + region(base, memory))
    # The same, checksums left to the target's fix-up (flag bit 0), found by the EBDA scan.
    bda = u16(0x9FC0)
    write('acpi', 'acpi2_ebda_fixup', u8(1) + u32(0) + region(0x40E, bda) + region(0x9FC00, rsdp2)
          + region(base, memory))


def pci():
    def rec(bus, dev, fn, vendor, device, cls, sub, progif=0, rev=0, htype=0, secondary=0, command=0x0103,
            irq=(0, 0), bars=(), repeat=0):
        bars = list(bars) + [(0, 0)] * (6 - len(bars))
        r = u8(bus) + u8(dev) + u8(fn) + u8(repeat) + u32(vendor | device << 16)
        r += u32(rev | progif << 8 | sub << 16 | cls << 24) + u8(htype) + u8(secondary) + u16(command)
        r += u8(irq[0]) + u8(irq[1])
        return r + b''.join(u32(v) + u32(m) for v, m in bars)

    def mem(base, size, prefetch=False):
        return base | (8 if prefetch else 0), ~(size - 1) & 0xFFFFFFF0

    def io(base, size):
        return base | 1, ~(size - 1) & 0xFFFFFFFC

    qemu = [
        rec(0, 0, 0, 0x8086, 0x1237, 6, 0),
        rec(0, 1, 0, 0x8086, 0x7000, 6, 1, htype=0x80),
        rec(0, 1, 1, 0x8086, 0x7010, 1, 1, progif=0x80, bars=[(0, 0)] * 4 + [io(0xc040, 16)], command=0x0101),
        rec(0, 1, 3, 0x8086, 0x7113, 6, 0x80, rev=3, irq=(9, 1), command=0x0101),
        rec(0, 2, 0, 0x1234, 0x1111, 3, 0, rev=2, bars=[mem(0xfd000000, 16 << 20, True), (0, 0), mem(0xfebf0000, 4096)]),
        rec(0, 3, 0, 0x8086, 0x100e, 2, 0, rev=3, irq=(11, 1), bars=[mem(0xfebc0000, 128 << 10), io(0xc000, 64)],
            command=0x0107),
    ]
    head = u8(0) + u8(1)  # room for every function, BARs sized
    write('pci', 'qemu_pc', head + b''.join(qemu))
    behind = qemu + [
        rec(0, 4, 0, 0x1b36, 0x0001, 6, 4, htype=1, secondary=1, bars=[mem(0xfe800000, 4096)], command=0x0107),
        rec(1, 0, 0, 0x1af4, 0x1041, 2, 0, irq=(10, 1), command=0x0106,
            bars=[(0, 0), mem(0xfe600000, 4096), (0, 0), (0, 0), (0xfe000004, 0xffffc000), (0, 0xffffffff)]),
    ]
    write('pci', 'behind_a_bridge', head + b''.join(behind))
    loop = [rec(0, 0, 0, 0x8086, 0x1237, 6, 0), rec(0, 5, 0, 0x1b36, 1, 6, 4, htype=1, secondary=1)]
    loop += [rec(b, 0, 0, 0x1b36, 1, 6, 4, htype=1, secondary=(b + 1) % 12) for b in range(1, 12)]
    write('pci', 'bridge_loop_and_depth', head + b''.join(loop))
    write('pci', 'no_sizing_small_list', u8(3) + u8(0) + b''.join(qemu))


def scancode():
    def press(code, e0=False):
        return (b'\xe0' if e0 else b'') + bytes([code, code | 0x80])

    hello = b''.join(press(c) for c in (0x23, 0x12, 0x26, 0x26, 0x18)) + press(0x1C)
    shifted = b'\x2a' + press(0x23) + b'\xaa' + b'\x36' + press(0x02) + b'\xb6'
    write('scancode', 'typing', hello + shifted + press(0x3A) + press(0x1E) + b'\x2a' + press(0x1E) + b'\xaa')
    write('scancode', 'extended_keys', press(0x48, True) + press(0x4B, True) + press(0x53, True) + press(0x1C, True)
          + press(0x35, True) + b'\xe0\x1d' + press(0x2E) + b'\xe0\x9d' + b'\xe0\x38' + press(0x48, True) + b'\xe0\xb8')
    write('scancode', 'pause_printscreen_keypad', b'\xe1\x1d\x45\xe1\x9d\xc5' + b'\xe0\x2a\xe0\x37\xe0\xb7\xe0\xaa'
          + press(0x47) + press(0x45) + press(0x47) + press(0x4C) + press(0x4A) + press(0x3B))
    write('scancode', 'ctrl_alt', b'\x1d' + press(0x2E) + press(0x39) + b'\x9d' + b'\x38' + press(0x20) + b'\xb8')


def i8042():
    def run(value, count=1):
        return u8(value) + u8(count.bit_length() - 1)

    ready, full = 0x00, 0x01

    def send():
        return run(ready)

    def answer(value):
        return run(full) + run(value)

    good = run(0x1C) + send() + send() + run(0x1C) + send() + answer(0x73) + send() + answer(0x55) + send()
    good += answer(0x00) + send() + send() + send() + send() + send()
    write('i8042', 'init', u8(0) + good)
    reset = good[:-4] + send() + answer(0xFA) + answer(0xAA) + send() + send()
    write('i8042', 'init_with_reset', u8(1) + reset)
    write('i8042', 'absent', u8(0) + run(0xFF))
    write('i8042', 'self_test_fails', u8(0) + good[:14] + send() + answer(0xFC))
    write('i8042', 'stuck_busy', u8(0) + run(0x1C) + run(0x02, 1 << 17))


def cmos_rtc():
    def bcd(v):
        return (v // 10) << 4 | v % 10

    def raw(status_b, s, mi, h, d, mo, y, c):
        return u8(status_b) + bytes([s, mi, h, d, mo, y, c])

    def civil(year, month, day):
        return u32(year) + u8(month - 1) + u8(day - 1)

    def run(value, count=1):
        return u8(value) + u8(count.bit_length() - 1)

    now = [bcd(8), bcd(47), bcd(21), bcd(25), bcd(11), bcd(26), bcd(20)]
    chip = u8(0) + run(0x26) + run(0x02) + run(0x80, 4) + run(0)
    chip += b''.join(run(v) for v in now) + run(0) + b''.join(run(v) for v in now)
    write('cmos_rtc', 'bcd_24h_and_read', raw(0x02, *now) + civil(2026, 11, 25) + chip)
    write('cmos_rtc', 'bcd_12h_pm', raw(0x00, bcd(0), bcd(30), 0x80 | bcd(12), bcd(29), bcd(2), bcd(24), bcd(20))
          + civil(2024, 2, 29) + u8(2))
    write('cmos_rtc', 'binary_no_century', raw(0x06, 59, 59, 23, 31, 12, 99, 0) + civil(-1, 3, 1) + u8(1) + run(0xFF))
    write('cmos_rtc', 'invalid_feb_29', raw(0x02, 0, 0, 0, bcd(29), bcd(2), bcd(23), bcd(20)) + civil(1900, 2, 28))
    write('cmos_rtc', 'update_in_progress', raw(0x02, *now) + civil(1970, 1, 1) + u8(0) + run(0x26) + run(0x02)
          + run(0x80, 1 << 17))


def vga_text():
    write('vga_text', 'ansi_output', b'\0exo> mem\r\n' + ESC + b'[31mred' + ESC + b'[0m ' + ESC + b'[1;32mbold'
          + ESC + b'[22m' + ESC + b'[5;10H' + ESC + b'[K' + ESC + b'[2J' + ESC + b'[?25l\ttab\b' + ESC + b'[3A'
          + ESC + b'[99C' + ESC + b'[1K')
    write('vga_text', 'scrolling', b'\0' + b''.join(b'line %d: %s\r\n' % (i, b'x' * (i * 7 % 100)) for i in range(40)))
    # Keys for the line editor shown on the console.
    write('vga_text', 'line_editor_keys', b'\1mem --json' + ESC + b'[D' + ESC + b'[D\x7fx\x01\x05\x0bhelp\tpa\t'
          + ESC + b'[A\r\x0cpages 0x1000\x17\x15\x03')
    write('vga_text', 'line_editor_wrapped', b'\1uptime ' + b'b' * 100 + b'\x01' + b'\x06' * 6 + b'\x0b' + b'c' * 73
          + b'\x05' + b'\x7f' * 2 + b'\x0c' + b'\x02' * 10 + b'\x15\r')


def log_ring():
    def append(text, level=2, timestamp=1000, with_nul=False):
        op = (level << 2) | (0x40 if with_nul else 0)
        return u8(op) + u64(timestamp) + u16(len(text)) + text

    def read(seq, limit):
        return u8(2) + u16(seq) + u16(limit - 1)

    lines = [b'boot: gdt done', b'mm: 31 MiB usable', b'pci: 6 devices on 1 buses', b'warn: no RTC', b'x' * 60]
    s = u16(128) + b''.join(append(l, i % 4, 100 * i) for i, l in enumerate(lines * 3)) + read(0, 3) + read(7, 8)
    write('log_ring', 'wrapping', s + u8(0xF3) + append(b'after clear') + read(0, 8))
    write('log_ring', 'too_long_for_ring', u16(40) + append(b'y' * 60) + append(b'z', with_nul=True) + read(0, 2))
    write('log_ring', 'no_room', u16(10) + append(b'dropped') + read(0, 1))


def byte_ring():
    write('byte_ring', 'fill_and_drain', bytes([0x41 | 1] * 70 + [0] * 70 + [0x43, 0, 0x45, 0x47, 0, 0]))


def heap():
    def alloc(size_sel, value):
        return u8(0) + u8(size_sel) + (u16(value) if size_sel in (1, 2, 3, 4, 5) else u32(value) if size_sel == 6
                                       else u8(value))

    def aligned(size, align_log):
        return u8(2) + u8(2) + u16(size) + u8(align_log)

    def free(pick):
        return u8(3) + u16(pick)

    def realloc(pick, size):
        return u8(5) + u8(1) + u16(pick) + u8(5) + u16(size)

    s = u8(64) + alloc(0, 0) + alloc(1, 24) + alloc(3, 2000) + alloc(5, 5000) + alloc(6, 66000)
    s += aligned(100, 12) + aligned(40, 5) + aligned(10, 13) + realloc(0, 50) + realloc(1, 3000) + u8(6) + u16(2)
    s += free(0) + free(1) + u8(7) + u8(8) + u8(0) + u8(0) + u16(0) + u8(8) + u8(1) + u8(1) + u16(1) + u16(3)
    s += u8(8) + u8(2) + u8(2) + u16(0) + u16(4) + u8(9) + u16(0) + free(0)
    write('heap', 'mixed', s)
    s = u8(1) + b''.join(alloc(4, 1500) for _ in range(12)) + b''.join(free(0) for _ in range(12)) + u8(7)
    write('heap', 'source_runs_out', s)
    s = u8(32) + b''.join(alloc(0, 16) for _ in range(300))
    write('heap', 'many_small', s)


def frame_allocator():
    def small(base, length, flags=0x30):
        return u8(flags | 1) + u32(base) + u32(length)

    def huge(base, length):
        return u8(0) + u64(base) + u64(length)

    usable = [small(0, 0x9FC00), small(0x100000, 0xB00000)]
    reserved = [small(0x100000, 0x20000), small(0x1000, 0x2000, 0), huge(0xFFFFFFFFFFFFF000, 0x10000)]
    ops = u8(0) * 5 + u8(1) + u16(16) + u8(4) + u8(2) + u8(0) + u16(0) + u8(3) + u8(1) + u16(3) + u16(2)
    ops += u8(4) + u8(2) + u16(0x100) + u16(2) + u8(5) + u16(0x200) + u8(1 | 0x40) + u16(8) + u8(3)
    write('frame_allocator', 'qemu_map', u8(len(usable)) + u8(len(reserved)) + b''.join(usable + reserved)
          + u32(0x4000) + ops)
    write('frame_allocator', 'huge_ranges', u8(1) + u8(1) + huge(0xFFFFFFFF00000000, 0x200000000)
          + huge(0, 0xFFFFFFFFFFFFFFFF) + u32(100))


def main():
    rsp_codec()
    gdb_stub()
    tokenizer()
    line_editor()
    command_table()
    json_writer()
    multiboot2()
    pvh()
    cmdline()
    acpi()
    pci()
    scancode()
    i8042()
    cmos_rtc()
    vga_text()
    log_ring()
    byte_ring()
    heap()
    frame_allocator()


if __name__ == '__main__':
    main()
