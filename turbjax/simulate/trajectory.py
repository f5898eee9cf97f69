"""Many steps on the device: the double-buffered loop over a step function, and a one-grid convenience
runner."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from turbjax.simulate.step import Domain, compiler_options, ghosted, interior, make_step


def make_advance(step, probe=None):
    """advance((a, b), s_nu, s_mu, n, buf) -> ((a, b), probes (buf, ...)) running n steps.

    Two steps per loop iteration (a -> b -> a) keep both buffers in place, so n must be even when traced; a
    Python int n may be odd (the last step then runs alone and copies). `probe(planes)` is recorded after
    every step into a buffer of static length `buf`.
    """

    def advance(ab, s_nu, s_mu, n, buf):
        a, b = ab
        pshape = jax.eval_shape(probe, a) if probe is not None else None

        def pair(t, carry):
            a, b, pr = carry
            b = step(a, b, s_nu, s_mu)
            a = step(b, a, s_nu, s_mu)
            if probe is not None:
                pr = pr.at[2 * t].set(probe(b)).at[2 * t + 1].set(probe(a))
            return a, b, pr

        pr = jnp.zeros((buf,) + pshape.shape, pshape.dtype) if probe is not None else jnp.zeros((0,))
        a, b, pr = lax.fori_loop(0, n // 2, pair, (a, b, pr))
        if isinstance(n, int) and n % 2:
            b = step(a, b, s_nu, s_mu)
            if probe is not None:
                pr = pr.at[n - 1].set(probe(b))
            a, b = b, tuple(jnp.copy(q) for q in b)
        return (a, b), pr

    return advance


def run_domain(domain: Domain, g0, s_nu, s_mu, n: int, *, collision="mrt", naive_f32=False, fused=True):
    """Advance stacked deviations g0 (9, nx, ny) by n steps (one grid, jitted); returns (9, nx, ny)."""
    step = make_step(domain, collision=collision, naive_f32=naive_f32, fused=fused)
    advance = make_advance(step)

    @functools.partial(jax.jit, compiler_options=compiler_options())
    def run(g):
        a = ghosted(g)
        (a, _), _ = advance((a, tuple(jnp.copy(p) for p in a)), s_nu, s_mu, n, 0)
        return interior(a)

    return run(g0)
