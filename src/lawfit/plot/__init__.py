"""matplotlib figures of fits and evaluations, drawn with pyplot in whatever backend is active
(inline in notebooks); save with ``fig.savefig``. Importing it selects no backend."""

from lawfit.plot._fit import curves, parity
from lawfit.plot._heatmap import are_heatmap, are_heatmaps
from lawfit.plot._isoflop import isoflop_figure

__all__ = ["are_heatmap", "are_heatmaps", "curves", "isoflop_figure", "parity"]
