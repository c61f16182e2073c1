"""exo: the host client for Exo-OS.

Talks to the kernel's shell on COM1 (a serial device, a pty, a TCP chardev,
or a QEMU it launches itself through exo_qemu), reads the telemetry
commands' one-line JSON (`CMD --json`), and turns it into plots, CSV and an
HTML report. Standard library, pyserial and matplotlib only.
"""

__version__ = "0.1.0"

# The newest `"schema"` value of the shell's JSON this client understands.
KNOWN_SCHEMA = 1
