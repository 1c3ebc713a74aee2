"""matplotlib figures of fits and evaluations (the Agg backend; save with ``fig.savefig``)."""

from lawfit.plot._bands import fitted_laws
from lawfit.plot._calibration import calibration
from lawfit.plot._comparison import method_comparison
from lawfit.plot._fit import curves, parity
from lawfit.plot._forecast import forecast_intervals
from lawfit.plot._frontier import frontier
from lawfit.plot._heatmap import are_heatmap, are_heatmaps
from lawfit.plot._posterior import pair_plot

__all__ = [
    "are_heatmap",
    "are_heatmaps",
    "calibration",
    "curves",
    "fitted_laws",
    "forecast_intervals",
    "frontier",
    "method_comparison",
    "pair_plot",
    "parity",
]
