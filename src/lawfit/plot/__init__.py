"""matplotlib figures of fits and evaluations, drawn with pyplot in whatever backend is active
(inline in notebooks); save with ``fig.savefig``. Importing it selects no backend."""

from lawfit.plot._bands import MAX_GROUPS, fitted_laws
from lawfit.plot._calibration import calibration
from lawfit.plot._comparison import method_comparison
from lawfit.plot._fit import curves, parity
from lawfit.plot._forecast import forecast_intervals
from lawfit.plot._frontier import frontier
from lawfit.plot._heatmap import are_heatmap, are_heatmaps
from lawfit.plot._isoflop import isoflop_figure
from lawfit.plot._law_comparison import law_comparison
from lawfit.plot._posterior import pair_plot

__all__ = [
    "MAX_GROUPS",
    "are_heatmap",
    "are_heatmaps",
    "calibration",
    "curves",
    "fitted_laws",
    "forecast_intervals",
    "frontier",
    "isoflop_figure",
    "law_comparison",
    "method_comparison",
    "pair_plot",
    "parity",
]
