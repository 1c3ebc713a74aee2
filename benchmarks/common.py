"""What the benchmark scripts share; no heavy imports (bench_scaling measures memory)."""

import subprocess
import sys

#: Hoffmann et al. 2022's Chinchilla estimates, the start of every single-start benchmark fit.
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def devices(env: dict | None = None) -> str:
    """JAX's devices as a fresh process (with ``env``) sees them, without importing jax here."""
    out = subprocess.run([sys.executable, "-c", "import jax; print(jax.devices())"],
                         capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()
