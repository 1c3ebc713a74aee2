"""``--plot FILE``: where a command's figure goes (PNG, SVG or PDF, by extension)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["check_plot_path", "save_plot"]

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(path: Path | None) -> None:
    """Refuse a ``--plot`` path with another extension or in a missing folder (before any
    fitting)."""
    from lawfit.data import InputError

    if path is None:
        return
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise InputError(f"--plot {str(path)!r}: expected a {', '.join(PLOT_SUFFIXES)} extension")
    if not path.parent.is_dir():
        raise InputError(f"--plot {str(path)!r}: folder {str(path.parent)!r} does not exist")


def save_plot(artist, path: Path) -> None:
    """Save the figure of ``artist`` (a figure or axes) to ``path``."""
    from matplotlib.axes import Axes

    fig = artist.figure if isinstance(artist, Axes) else artist
    fig.savefig(path, dpi=110, bbox_inches="tight")
