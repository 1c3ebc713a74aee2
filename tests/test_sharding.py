"""Multi-device execution: tasks split across devices give the single-device results."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import json, jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from lawfit import laws
    from lawfit.fitting import fit_batch, LBFGS
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


def _run(devices: int, script: str = SCRIPT) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_devices_match_one():
    one, two = _run(1), _run(2)
    assert one["devices"] == 1 and two["devices"] == 2
    assert one["status"] == two["status"] == [0] * 5
    for a, b in zip(one["params"], two["params"], strict=True):
        for u, v in zip(a, b, strict=True):
            assert abs(u - v) <= 1e-8 * max(1.0, abs(u))


POSTERIOR_SCRIPT = textwrap.dedent(
    """
    import json, jax, numpy as np, pandas as pd
    jax.config.update("jax_enable_x64", True)
    from lawfit.bayes import NUTS, posterior
    from lawfit.evaluate import simulate
    n, d = np.meshgrid([1e7, 1e8, 1e9, 1e10], [1e9, 1e10, 1e11, 1e12])
    frame = pd.concat([
        simulate("chinchilla", {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": a, "beta": 0.3},
                 {"N": n, "D": d}, noise=0.01, seed=g, y="loss").assign(family=g)
        for g, a in enumerate([0.25, 0.3, 0.35, 0.4, 0.45])])
    post = posterior(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", by="family",
                     sampler=NUTS(warmup=100, samples=100), precision="float64")
    alpha = post.draws["alpha"].reshape(5, -1)
    print(json.dumps({"devices": jax.device_count(), "median": np.median(alpha, 1).tolist(),
                      "sd": alpha.std(1).tolist(), "status": post.groups["status"].tolist()}))
    """
)


@pytest.mark.slow
def test_posteriors_sharded_over_two_devices_match_one():
    """NUTS posteriors split across devices keep each group's data and order: the medians
    agree with the single-device run within Monte Carlo error."""
    one, two = _run(1, POSTERIOR_SCRIPT), _run(2, POSTERIOR_SCRIPT)
    assert one["devices"] == 1 and two["devices"] == 2
    assert set(two["status"]) <= {"ok", "low_ess"}
    for m1, m2, sd in zip(one["median"], two["median"], one["sd"], strict=True):
        assert abs(m1 - m2) <= 0.75 * sd
    # the families' simulated alpha in POSTERIOR_SCRIPT
    np.testing.assert_allclose(two["median"], [0.25, 0.3, 0.35, 0.4, 0.45], atol=0.1)


FIT_SCRIPT = textwrap.dedent(
    """
    import json, jax, numpy as np, pandas as pd
    jax.config.update("jax_enable_x64", True)
    import lawfit
    rng = np.random.default_rng(1)
    sizes = rng.integers(8, 20, 7)
    g = np.repeat(np.arange(7), sizes)
    x = 10 ** rng.uniform(6, 11, g.size)
    y = (1.5 + 40.0 * x ** -(0.15 + 0.02 * g)) * np.exp(0.01 * rng.standard_normal(g.size))
    res = lawfit.fit(pd.DataFrame({"g": g, "x": x, "y": y}), "power_law", "x", "y", by="g",
                     bootstrap=150, seed=3)
    numbers = res.params.select_dtypes("number").to_numpy(float)
    print(json.dumps({"devices": jax.device_count(), "params": numbers.tolist()}))
    """
)


@pytest.mark.slow
def test_one_two_and_four_devices_give_identical_fits():
    """A grouped fit with bootstrap (8 padded groups x 150 resamples = 1,200 tasks: five
    blocks of 256, so four devices get padding blocks, and the 7 groups do not divide by 4)
    gives the same table, bit for bit, on 1, 2 and 4 devices."""
    runs = [_run(n, FIT_SCRIPT) for n in (1, 2, 4)]
    assert [r["devices"] for r in runs] == [1, 2, 4]
    np.testing.assert_array_equal(runs[0]["params"], runs[1]["params"])
    np.testing.assert_array_equal(runs[0]["params"], runs[2]["params"])
