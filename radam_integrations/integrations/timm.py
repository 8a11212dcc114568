"""timm: ``create_optimizer_v2(model, opt="radam")`` returns :class:`radam_integrations.RAdam`.

timm's optimizer factory is a registry of declarative :class:`timm.optim.OptimInfo` rows;
registering ours is data, not code. After :func:`register`:

* ``"radam"`` and ``"radamw"`` (decoupled weight decay) create our RAdam, and so do the
  ``lookahead_`` compositions (``"lookahead_radam"``);
* torch's implementation stays reachable as ``"torchradam"`` / ``"torchradamw"``
  (timm looks names up by the part after the last ``_``, so registered names contain none);
* timm's parameter grouping is unchanged: no weight decay for biases and norm weights,
  ``layer_decay`` (groups carry an ``lr_scale`` that timm's schedulers apply), ``foreach``.

timm's ``train.py`` selects optimizers by name (``--opt radam``), so the registration
must run in that process first: run it through the runner, unmodified (``--warmup-epochs 0``:
``train.py`` warms up for 5 epochs by default, which hides what RAdam is for)::

    radam-integrations run path/to/timm/train.py --opt radam --warmup-epochs 0 --lr 1e-3 ...
    torchrun --nproc_per_node 2 -m radam_integrations path/to/timm/train.py --opt radam ...

Example:
    >>> import timm, torch
    >>> from timm.optim import create_optimizer_v2
    >>> from radam_integrations.integrations import timm as radam_timm
    >>> radam_timm.register()
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LayerNorm(8))
    >>> opt = create_optimizer_v2(model, opt="radamw", lr=1e-3, weight_decay=0.05)
    >>> type(opt).__module__, opt.param_groups[0]["decoupled_weight_decay"]
    ('radam_integrations.optim.radam', True)
"""

from __future__ import annotations

from typing import Any

from .._compat import timm as _compat
from ..optim import RAdam

__all__ = ["NAMES", "register", "unregister"]

#: name -> (optimizer class, defaults, description). ``None`` as class means torch.optim.RAdam.
NAMES: dict[str, tuple[type | None, dict[str, Any], str]] = {
    "radam": (RAdam, {}, "radam_integrations.RAdam: Rectified Adam, torch's numbers, one-pass step"),
    "radamw": (
        RAdam,
        {"decoupled_weight_decay": True},
        "radam_integrations.RAdam with decoupled (AdamW-style) weight decay",
    ),
    "torchradam": (None, {}, "torch.optim.RAdam (timm's previous 'radam')"),
    "torchradamw": (
        None,
        {"decoupled_weight_decay": True},
        "torch.optim.RAdam, decoupled decay (timm's 'radamw')",
    ),
}


def register(names: dict[str, tuple[type | None, dict[str, Any], str]] | None = None) -> None:
    """Register ``radam``, ``radamw``, ``torchradam`` and ``torchradamw`` in timm's optimizer registry.

    Idempotent. Replaces timm's ``radam``/``radamw`` rows (which point at torch.optim.RAdam).
    ``names`` registers other rows instead, in the form of :data:`NAMES` (the experimental
    package adds ``measuredradam``/``measuredradamw`` this way).
    """
    import torch

    registry = _compat.optimizer_registry()
    optim_info = _compat.optim_info_class()
    for name, (cls, defaults, description) in (NAMES if names is None else names).items():
        opt_class = torch.optim.RAdam if cls is None else cls
        current = _compat.get_row(registry, name)
        if current is not None and current.opt_class is opt_class and (current.defaults or {}) == defaults:
            continue  # already ours: no "overwriting" warning on a second call
        _compat.drop_row(registry, name)
        registry.register(
            optim_info(
                name=name,
                opt_class=opt_class,
                description=description,
                has_betas=True,
                defaults=dict(defaults) or None,
            )
        )


def unregister() -> None:
    """Restore timm's own rows for ``radam``/``radamw`` and drop the ``torch*`` aliases."""
    import torch

    registry = _compat.optimizer_registry()
    optim_info = _compat.optim_info_class()
    for name in NAMES:
        _compat.drop_row(registry, name)
    registry.register(
        optim_info(name="radam", opt_class=torch.optim.RAdam, description="torch.optim.RAdam", has_betas=True)
    )
    registry.register(
        optim_info(
            name="radamw",
            opt_class=torch.optim.RAdam,
            description="torch.optim.RAdamW",
            has_betas=True,
            defaults={"decoupled_weight_decay": True},
        )
    )


if __name__ == "__main__":  # the runner's older spelling, deprecated
    from .._deprecated_runner import run_as_the_runner

    run_as_the_runner("radam_integrations.integrations.timm")
