"""A deep ensemble: M copies of one model with independent initializations, trained together as one program.

The members' parameters carry a leading axis of size M (`nn.vmap` over the "params" collection, the
initializer's key split per member), so an ensemble is one pytree and one compiled step: every minibatch
updates all members at once, each on its own loss (`member_outputs` gives the (M, ...) outputs the training
loss averages over; the mean of M independent losses gives each member the gradient it would get alone).
Called plainly, the ensemble returns the mean of its members' outputs: for a regression on standardized log Re
(data.log_target) that is the geometric mean of the members' Reynolds numbers. Everything that calls
`model.apply(params, x)` (evaluation, calibration, prediction, export) sees one model.

Why: averaging independently trained networks removes the part of each one's error that comes from its
random initialization and minibatch path (the variance a single network adds on top of the data's own);
figures in the README ("Deep ensembles").
"""

from __future__ import annotations

import jax
from flax import linen as nn


class Ensemble(nn.Module):
    """`members` independently initialized copies of `base`; __call__ -> the mean output (see the module
    docstring), or every member's output stacked on a leading axis with `members_out=True`."""

    base: nn.Module
    members: int

    @nn.compact
    def __call__(self, x: jax.Array, *, members_out: bool = False) -> jax.Array:
        run = nn.vmap(lambda module, x: module(x), variable_axes={"params": 0}, split_rngs={"params": True},
                      in_axes=None, out_axes=0, axis_size=self.members)
        out = run(self.base, x)
        return out if members_out else out.mean(axis=0)


def member_outputs(model: nn.Module, params, x: jax.Array) -> jax.Array:
    """(M, ...) outputs of each member of an ensemble; a single model's output as (1, ...)."""
    if isinstance(model, Ensemble):
        return model.apply(params, x, members_out=True)
    return model.apply(params, x)[None]
