"""matplotlib figures of fits and evaluations (the Agg backend; save with ``fig.savefig``)."""

from lawfit.plot._fit import curves, parity
from lawfit.plot._heatmap import are_heatmap, are_heatmaps
from lawfit.plot._isoflop import isoflop_figure

__all__ = ["are_heatmap", "are_heatmaps", "curves", "isoflop_figure", "parity"]
