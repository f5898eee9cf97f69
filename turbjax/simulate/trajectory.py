"""Many steps on the device: the loop over a step function (two steps per iteration), and a one-grid
convenience runner."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from turbjax.simulate.step import Domain, compiler_options, ghosted, interior, make_step


def make_advance(step, probe=None):
    """advance(g, s_nu, s_mu, n, buf) -> (g, probes (buf, ...)) running n steps of step(g, s_nu, s_mu).

    Two steps per loop iteration: each step's planes then replace those of the step before last, which are no
    longer read, so XLA updates the loop's buffers without copies (one step per iteration copies all nine
    planes back into the loop's buffer every step). n must be even when traced; a Python int n may be odd
    (the last step then runs after the loop). `probe(planes)` is recorded after every step into a buffer of
    static length `buf`.
    """

    def advance(g, s_nu, s_mu, n, buf):
        pshape = jax.eval_shape(probe, g) if probe is not None else None

        def pair(t, carry):
            a, pr = carry
            b = step(a, s_nu, s_mu)
            a = step(b, s_nu, s_mu)
            if probe is not None:
                pr = pr.at[2 * t].set(probe(b)).at[2 * t + 1].set(probe(a))
            return a, pr

        pr = jnp.zeros((buf,) + pshape.shape, pshape.dtype) if probe is not None else jnp.zeros((0,))
        g, pr = lax.fori_loop(0, n // 2, pair, (g, pr))
        if isinstance(n, int) and n % 2:
            g = step(g, s_nu, s_mu)
            if probe is not None:
                pr = pr.at[n - 1].set(probe(g))
        return g, pr

    return advance


def run_domain(domain: Domain, g0, s_nu, s_mu, n: int, *, collision="mrt", naive_f32=False, fused=True):
    """Advance stacked deviations g0 (9, nx, ny) by n steps (one grid, jitted); returns (9, nx, ny)."""
    step = make_step(domain, collision=collision, naive_f32=naive_f32, fused=fused)
    advance = make_advance(step)

    @functools.partial(jax.jit, compiler_options=compiler_options())
    def run(g):
        a, _ = advance(ghosted(g), s_nu, s_mu, n, 0)
        return interior(a)

    return run(g0)
