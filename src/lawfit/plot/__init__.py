"""matplotlib figures of fits and evaluations (the Agg backend; save with ``fig.savefig``)."""

from lawfit.plot._fit import curves, parity

__all__ = ["curves", "parity"]
