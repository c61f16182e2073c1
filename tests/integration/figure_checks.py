"""What the plot tests check in a matplotlib figure, not in its pixels:
every text drawn inside the figure, axis labels, annotations and arrows."""
from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Annotation, Text

TOLERANCE_PX = 1.0


def drawn(fig) -> tuple:
    """Lay the figure out and draw it (constrained layout runs at draw time);
    (renderer, the texts drawn). Tick labels outside an axis' view exist
    as artists but are never drawn: only what Text.draw was called for counts."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    seen = []
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            seen.append(self)
        return original(self, renderer)

    Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return fig.canvas.get_renderer(), seen


def texts(fig) -> list:
    """Every text drawn: titles, labels, ticks, annotations."""
    return drawn(fig)[1]


def all_text(fig) -> str:
    return "\n".join(t.get_text() for t in texts(fig))


def texts_outside(fig) -> list:
    """The drawn texts whose box is not inside the figure: clipped in the PNG."""
    renderer, seen = drawn(fig)
    box = fig.bbox
    out = []
    for t in seen:
        b = t.get_window_extent(renderer)
        if (b.x0 < box.x0 - TOLERANCE_PX or b.x1 > box.x1 + TOLERANCE_PX
                or b.y0 < box.y0 - TOLERANCE_PX or b.y1 > box.y1 + TOLERANCE_PX):
            out.append(f"{t.get_text()[:60]!r} at x {b.x0:.0f}..{b.x1:.0f}, y {b.y0:.0f}..{b.y1:.0f} "
                       f"(figure {box.width:.0f}x{box.height:.0f})")
    return out


def annotations(fig) -> list:
    return [a for a in fig.findobj(Annotation) if a.get_visible()]


def arrows(fig) -> list:
    return [a for a in annotations(fig) if a.arrow_patch is not None]


def has_unit(label: str) -> bool:
    """An axis label names its unit in parentheses: "time (s)", "heap (KiB)"."""
    return "(" in label and ")" in label
