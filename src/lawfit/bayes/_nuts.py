"""Many posteriors x chains of NUTS in one compiled call.

NumPyro's functional NUTS kernel (``numpyro.infer.hmc.hmc``: Hoffman & Gelman 2014's
multinomial variant with Stan's windowed adaptation of the step size and a dense mass
matrix) is driven by ``lax.scan`` and vmapped over chains and over posteriors, whose padded
data are array leaves: one compilation serves every posterior of a shape. Each posterior is
sampled in coordinates whitened by its Laplace approximation, z = mode + S w (S S^T = H^-1,
a constant-Jacobian change of variables), so adaptation starts from a near-identity geometry;
chains start at independent draws w ~ N(0, I), i.e. from the Laplace approximation.
With several devices the posteriors are split into one contiguous block per device
(:func:`jax.shard_map`; on a CPU, expose its cores as devices with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``), as :mod:`lawfit.fitting._engine` does.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from numpyro.infer.hmc import hmc

__all__ = ["Draws", "nuts"]


class Draws(NamedTuple):
    """``z`` (B, C, S, d) unconstrained draws; per draw ``diverging`` (B, C, S), tree
    ``num_steps`` (B, C, S) and ``accept`` probability (B, C, S)."""

    z: jax.Array
    diverging: jax.Array
    num_steps: jax.Array
    accept: jax.Array


def nuts(
    potential,
    args,
    mode,
    sqrt_cov,
    *,
    key,
    chains: int = 4,
    warmup: int = 500,
    samples: int = 500,
    max_tree_depth: int = 8,
    target_accept: float = 0.9,
    chunk: int | None = None,
) -> Draws:
    """Sample B posteriors with ``chains`` NUTS chains each.

    Args:
        potential: ``potential(z, *args_b)``, minus the log density of one posterior.
        args: pytree of per-posterior arguments with leading axis B.
        mode, sqrt_cov: (B, d) and (B, d, d), the Laplace approximation (whitening).
        key: a JAX PRNG key; chains: per posterior; warmup, samples: iterations each.
        max_tree_depth: at most 2^depth - 1 leapfrog steps per draw.
        target_accept: the step-size adaptation's target acceptance rate.
        chunk: posteriors vmapped together on each device (default: all of its block);
            chunks run one after another (``lax.map``). Vmapped NUTS chains move in lockstep,
            each draw costing the longest tree among them, so ``max_tree_depth`` caps what
            one slow chain costs every other; smaller chunks waste fewer leapfrog steps but
            amortise the per-step overhead over fewer lanes.
    """
    n_post = mode.shape[0]
    keys = jax.random.split(key, n_post * chains)
    keys = keys.reshape((n_post, chains, *keys.shape[1:]))
    n_devices = jax.device_count() if n_post >= 2 * jax.device_count() else 1
    per_device = -(-n_post // n_devices)
    chunk = per_device if chunk is None else max(1, min(int(chunk), per_device))
    run = _compiled(potential, chains, warmup, samples, max_tree_depth, float(target_accept),
                    chunk, n_devices)
    inputs = (keys, mode, sqrt_cov, args)
    if n_devices > 1:
        pad = per_device * n_devices - n_post  # whole blocks: repeat the first posterior
        inputs = jax.tree.map(lambda a: jnp.concatenate([a, jnp.repeat(a[:1], pad, axis=0)]),
                              inputs)
        inputs = jax.reshard(inputs, NamedSharding(_mesh(n_devices), P("posteriors")))
    return Draws(*(a[:n_post] for a in run(*inputs)))


@functools.lru_cache(maxsize=32)
def _compiled(potential, chains, warmup, samples, max_tree_depth, target_accept, chunk,
              n_devices):
    """The jitted sampler for a potential and these settings. Bounded caches: the last 32
    (potential, settings) keep their jitted function (LRU), and each compiles once per input
    shape, kept in JAX's own LRU-bounded caches."""
    def whitened(mode, sqrt_cov, args):
        return lambda w: potential(mode + sqrt_cov @ w, *args)

    init_kernel, sample_kernel = hmc(potential_fn_gen=whitened, algo="NUTS")

    def chain(key, mode, sqrt_cov, args):
        key_init, key_run = jax.random.split(key)
        w0 = jax.random.normal(key_init, mode.shape, mode.dtype)
        kwargs = dict(mode=mode, sqrt_cov=sqrt_cov, args=args)
        state = init_kernel(
            w0,
            warmup,
            step_size=jnp.asarray(0.5, mode.dtype),
            dense_mass=True,
            target_accept_prob=target_accept,
            max_tree_depth=max_tree_depth,
            model_kwargs=kwargs,
            rng_key=key_run,
        )

        def adapt(st, _):
            return sample_kernel(st, model_kwargs=kwargs), None

        def draw(st, _):
            st = sample_kernel(st, model_kwargs=kwargs)
            return st, (mode + sqrt_cov @ st.z, st.diverging, st.num_steps, st.mean_accept_prob)

        state, _ = lax.scan(adapt, state, None, length=warmup)
        _, out = lax.scan(draw, state, None, length=samples)
        return out

    per_posterior = jax.vmap(chain, in_axes=(0, None, None, None))

    def run(keys, mode, sqrt_cov, args):
        return lax.map(lambda a: per_posterior(*a), (keys, mode, sqrt_cov, args),
                       batch_size=chunk)

    if n_devices > 1:
        run = jax.shard_map(run, mesh=_mesh(n_devices), in_specs=P("posteriors"),
                            out_specs=P("posteriors"), check_vma=False)
    return jax.jit(run)


def _mesh(n_devices: int):
    return jax.make_mesh((n_devices,), ("posteriors",))
