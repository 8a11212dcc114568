"""Lightning internals: one callback for both packages, Fabric's callback list and hooks, LightningCLI.

Checked on lightning / pytorch_lightning 2.5.0 and 2.6.6 (``lightning.fabric`` and
``lightning_fabric`` alike). Nothing here imports a Lightning package at import time.

1. One class deriving from the ``Callback`` of every installed Lightning package
   (:func:`trainer_callback_bases`). The ``callbacks_factory`` entry point is called without
   arguments by both ``lightning.pytorch.Trainer`` and ``pytorch_lightning.Trainer``, so it cannot
   know which one asks, and each Trainer checks ``isinstance(cb, <its own> Callback)``. The two
   ``Callback`` classes are separate copies of the same code (same hooks, same ``state_key``),
   which is what makes one class with both bases work; neither package promises that.
2. ``Fabric._callbacks`` (:func:`fabric_callbacks`): the callbacks a Fabric calls. ``Fabric`` has no
   public accessor; the auto-attached Fabric callback reads it to step aside for a user's own.
   Without it: no other callbacks are seen (both would then log).
3. Fabric's hooks ``on_after_setup`` (called by ``Fabric.setup``) and ``on_after_optimizer_step``
   (called by the optimizer ``fabric.setup`` returns, after each ``step()``), named in
   :data:`FABRIC_HOOKS`. Neither is in Fabric's callback guide or API reference: Fabric's
   CHANGELOG (2.0.3) lists them as "Fabric internal hooks" (#17759). Their keyword arguments
   (``fabric``, ``module``; ``strategy``, ``optimizer``) are what the callback reads.
4. Telling that LightningCLI built ``configure_optimizers`` (:func:`configure_optimizers_from_cli`):
   ``LightningCLI._add_configure_optimizers_method_to_model`` installs
   ``MethodType(partial(LightningCLI.configure_optimizers, ...), model)``; the partial's ``func``
   is the static method, whose ``__qualname__`` starts with ``"LightningCLI."``. There is no
   public flag.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "FABRIC_HOOKS",
    "TRAINER_PACKAGES",
    "configure_optimizers_from_cli",
    "fabric_callbacks",
    "trainer_callback_bases",
]

#: The Lightning packages whose Trainer takes callbacks, in the order their bases are listed.
TRAINER_PACKAGES = ("lightning.pytorch", "pytorch_lightning")
#: Fabric's internal hooks the Fabric callback implements.
FABRIC_HOOKS = ("on_after_setup", "on_after_optimizer_step")


def trainer_callback_bases() -> tuple[type, ...]:
    """``Callback`` of every installed Lightning package (empty without any)."""
    bases = []
    for module in TRAINER_PACKAGES:
        try:
            bases.append(importlib.import_module(module).Callback)
        except ImportError:
            continue
    return tuple(bases)


def fabric_callbacks(fabric: Any) -> list[Any]:
    """The callbacks ``fabric`` calls (empty when this Fabric no longer keeps them where we look)."""
    callbacks = getattr(fabric, "_callbacks", None)
    return list(callbacks) if isinstance(callbacks, (list, tuple)) else []


def configure_optimizers_from_cli(pl_module: Any) -> bool:
    """Whether ``pl_module.configure_optimizers`` is the one LightningCLI installed."""
    configure = getattr(getattr(pl_module, "configure_optimizers", None), "__func__", None)
    # A functools.partial of LightningCLI.configure_optimizers (a staticmethod in Lightning 2.x).
    return getattr(getattr(configure, "func", None), "__qualname__", "").startswith("LightningCLI.")
