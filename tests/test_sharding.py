"""Multi-device execution: tasks split across devices give the single-device results."""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from lawfit import laws
    from lawfit.fit import fit_batch, LBFGS
    rng = np.random.default_rng(0)
    x = np.logspace(6, 11, 16)
    y = np.stack([(1.5 + 40.0 * x**-0.2) * (1 + 0.01 * g) * np.exp(1e-3 * rng.standard_normal(16))
                  for g in range(5)])
    law = laws.power_law
    out = fit_batch(law, {"x": np.broadcast_to(x, y.shape)}, y, np.ones_like(y),
                    starts=law.start_grid(), lower=law.lower, upper=law.upper, solver=LBFGS())
    print(json.dumps({"devices": jax.device_count(), "params": out.params.tolist(),
                      "status": out.status.tolist()}))
    """
)


def _run(devices: int) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_devices_match_one():
    one, two = _run(1), _run(2)
    assert one["devices"] == 1 and two["devices"] == 2
    assert one["status"] == two["status"] == [0] * 5
    for a, b in zip(one["params"], two["params"], strict=True):
        for u, v in zip(a, b, strict=True):
            assert abs(u - v) <= 1e-8 * max(1.0, abs(u))
