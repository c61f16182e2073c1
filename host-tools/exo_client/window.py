"""Can matplotlib open a window here? If not, why, in words that name the
real fix: a display to reach, a setting to drop, or the toolkit to install."""
from __future__ import annotations

import importlib.util
import os
from typing import Optional

# Backends that can only write files.
FILE_ONLY_BACKENDS = ("agg", "pdf", "svg", "ps", "cairo", "template")
INSTEAD = "write a file with -o FILE instead"


def problem() -> Optional[str]:
    """None when a window can open, else the reason (cheap checks first:
    importing pyplot costs half a second)."""
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if not display:
        return f"no display ($DISPLAY / $WAYLAND_DISPLAY unset): {INSTEAD}"
    import matplotlib
    import matplotlib.pyplot  # noqa: F401  (picks the backend: agg when no window can open)
    backend = matplotlib.get_backend()
    if backend.lower() not in FILE_ONLY_BACKENDS:
        return None
    if os.environ.get("MPLBACKEND"):
        return f"MPLBACKEND={os.environ['MPLBACKEND']} draws no window: unset it, or {INSTEAD}"
    if importlib.util.find_spec("tkinter") is None:
        return f"matplotlib has no window toolkit here: install one (Debian: apt-get install python3-tk) or {INSTEAD}"
    # Tk is there, so matplotlib fell back to agg because the display did not answer.
    return f"cannot open display {display!r} (is its X or Wayland server running?): {INSTEAD}"
