"""Optax optimizers whose scalar hyperparameters are traced values.

Every optimizer is `optax.inject_hyperparams` around one factory taking (learning_rate, weight_decay,
momentum), so those three live in the optimizer state as float32 arrays: changing them never recompiles, and
`jax.vmap` over them is a sweep. The training core overwrites them from its `hparams` dict at every call
(`set_hyperparams`), so the dict passed to `run_epochs` / `train` is the single source of truth.

Meaning of the hyperparameters per optimizer:
  sgd       x -= lr * g                          (momentum and weight_decay must be 0)
  momentum  heavy-ball SGD, optax.sgd(lr, momentum) (nesterov from config.optim.nesterov)
  adam      optax.adam(lr, b1=momentum, b2=config.optim.b2)
  adamw     optax.adamw(lr, b1=momentum, b2, weight_decay) (decoupled weight decay, scaled by lr)
  lbfgs     optax.lbfgs with a zoom line search, full batch; lr scales the L-BFGS direction (1.0 = plain
            L-BFGS). For linear and small models.
L2 and L1 penalties are not optimizer transforms: they are added to the loss by the training core
(`l2/2 * sum w^2 + l1 * sum |w|` over kernels, biases unpenalized), so they work with every optimizer.

Schedules (config.optim.schedule) multiply the traced learning rate by a factor of the update count:
  constant, cosine (to `final_fraction` at the last step), warmup_cosine (linear warmup over
  `warmup_epochs`, then cosine to `final_fraction`).

The optim section of a config is checked here, once (`validate_optim_config`, called by
turbjax.configs.validate.validate_config); `make_optimizer` calls the same name and schedule checks.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax

from turbjax.checks import did_you_mean, fail, number

OPTIMIZER_NAMES = ("sgd", "momentum", "adam", "adamw", "lbfgs")
SCHEDULE_NAMES = ("constant", "cosine", "warmup_cosine")
HPARAM_NAMES = ("learning_rate", "weight_decay", "momentum", "l2", "l1")
INJECTED = ("learning_rate", "weight_decay", "momentum")


def check_optimizer_name(name: str) -> None:
    if name not in OPTIMIZER_NAMES:
        fail(
            f"config.optim.name={name!r} is not an optimizer; expected one of {OPTIMIZER_NAMES}, "
            f"e.g. --config.optim.name=adam" + did_you_mean(str(name), OPTIMIZER_NAMES)
        )


def check_schedule(optim_config) -> None:
    """A known schedule name, and a constant one for L-BFGS (its line search sets the step length)."""
    kind = optim_config.get("schedule", "constant")
    if kind not in SCHEDULE_NAMES:
        fail(f"config.optim.schedule={kind!r} is unknown; expected one of {SCHEDULE_NAMES}")
    if optim_config.name == "lbfgs" and kind != "constant":
        fail(
            f"config.optim.schedule={kind!r} with lbfgs: it must be 'constant' (its line search sets the "
            f"step length); set --config.optim.schedule=constant"
        )


def validate_optim_config(o) -> None:
    """The optim section: one ValueError naming the value, what was expected and what to do."""
    check_optimizer_name(o.name)
    check_schedule(o)
    number(o.learning_rate, "config.optim.learning_rate", low=0, low_open=True)
    number(o.momentum, "config.optim.momentum", low=0, high=1)
    number(o.weight_decay, "config.optim.weight_decay", low=0)
    number(o.l2, "config.optim.l2", low=0)
    number(o.l1, "config.optim.l1", low=0)
    number(o.b2, "config.optim.b2", low=0, high=1)
    number(o.final_fraction, "config.optim.final_fraction", low=0, high=1)
    number(o.warmup_epochs, "config.optim.warmup_epochs", low=0, integer=True)
    number(o.lbfgs_memory, "config.optim.lbfgs_memory", low=1, integer=True)
    if o.name == "sgd" and o.momentum != 0:
        fail(
            f"config.optim.momentum={o.momentum} with plain sgd; set it to 0, or use "
            f"--config.optim.name=momentum"
        )
    if o.name != "adamw" and o.weight_decay != 0:
        fail(
            f"config.optim.weight_decay={o.weight_decay} is only used by adamw (decoupled decay); use "
            f"--config.optim.name=adamw, or an L2 penalty --config.optim.l2=... with {o.name}"
        )


def _factory(optim_config):
    name = optim_config.name
    check_optimizer_name(name)
    b2 = float(optim_config.get("b2", 0.999))
    nesterov = bool(optim_config.get("nesterov", False))
    memory = int(optim_config.get("lbfgs_memory", 10))

    def factory(learning_rate, weight_decay, momentum):
        if name == "sgd":
            return optax.sgd(learning_rate)
        if name == "momentum":
            return optax.sgd(learning_rate, momentum=momentum, nesterov=nesterov)
        if name == "adam":
            return optax.adam(learning_rate, b1=momentum, b2=b2)
        if name == "adamw":
            return optax.adamw(learning_rate, b1=momentum, b2=b2, weight_decay=weight_decay)
        return optax.lbfgs(learning_rate=learning_rate, memory_size=memory)

    return factory


def schedule_factor(optim_config, *, steps_per_epoch: int, num_epochs: int):
    """The schedule as a function of the update count returning a multiplier of the learning rate."""
    check_schedule(optim_config)
    kind = optim_config.get("schedule", "constant")
    total = max(steps_per_epoch * num_epochs, 1)
    final = float(optim_config.get("final_fraction", 0.0))
    if kind == "constant":
        return None
    if kind == "cosine":
        return optax.cosine_decay_schedule(1.0, decay_steps=total, alpha=final)
    if kind == "warmup_cosine":
        warmup = int(optim_config.get("warmup_epochs", 1)) * steps_per_epoch
        return optax.warmup_cosine_decay_schedule(
            0.0, 1.0, warmup_steps=min(warmup, total - 1), decay_steps=total, end_value=final
        )
    raise AssertionError(kind)  # unreachable: check_schedule accepted it


def learning_rate_after(optim_config, epoch: int, *, steps_per_epoch: int, num_epochs: int) -> float:
    """The learning rate at the end of `epoch` (1-based): config.optim.learning_rate times the schedule's
    factor at update count epoch * steps_per_epoch, the rate the next update would take (what Keras logs per
    epoch). Computed on the host from the same schedule the optimizer runs; a diverged run's undone epochs
    do not advance the optimizer's count, which this does not know."""
    factor = schedule_factor(optim_config, steps_per_epoch=steps_per_epoch, num_epochs=num_epochs)
    rate = float(optim_config.learning_rate)
    return rate if factor is None else rate * float(factor(int(epoch) * int(steps_per_epoch)))


def make_optimizer(optim_config, *, steps_per_epoch: int, num_epochs: int) -> optax.GradientTransformation:
    """chain(inject_hyperparams(factory)(lr, wd, momentum), [schedule factor]). Initial values are
    placeholders: `set_hyperparams` writes the traced values before every use."""
    inner = optax.inject_hyperparams(_factory(optim_config))(
        learning_rate=1.0, weight_decay=0.0, momentum=0.0
    )
    factor = schedule_factor(optim_config, steps_per_epoch=steps_per_epoch, num_epochs=num_epochs)
    if factor is None:
        return optax.chain(inner)
    return optax.chain(inner, optax.scale_by_schedule(factor))


def set_hyperparams(opt_state, hparams: dict):
    """Return opt_state with the injected hyperparameters replaced by hparams' (float32) values."""
    first = opt_state[0]
    new = dict(first.hyperparams)
    for k in INJECTED:
        new[k] = jnp.asarray(hparams[k], jnp.float32)
    return (first._replace(hyperparams=new),) + tuple(opt_state[1:])


def default_hparams(optim_config) -> dict:
    """The hparams dict (float32 scalars) from config.optim."""
    return {k: jnp.asarray(float(optim_config.get(k, 0.0)), jnp.float32) for k in HPARAM_NAMES}


def check_hparams(hparams: dict) -> None:
    missing = [k for k in HPARAM_NAMES if k not in hparams]
    extra = [k for k in hparams if k not in HPARAM_NAMES]
    if missing or extra:
        raise ValueError(
            f"hparams must have exactly the keys {HPARAM_NAMES}; missing {missing}, unexpected {extra}"
        )
