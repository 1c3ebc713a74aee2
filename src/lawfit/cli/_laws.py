"""``lawfit laws``: list the registered laws."""

from __future__ import annotations

from lawfit.cli._common import console, guarded


@guarded
def laws_command() -> None:
    """List the registered laws with their formulas and parameters."""
    from lawfit import laws

    for name in laws.names():
        console.print(laws.get(name).describe(), highlight=False)
