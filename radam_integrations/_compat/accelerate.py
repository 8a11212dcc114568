"""Accelerate internals: its list of prepared optimizers, and when it swaps the optimizer under DeepSpeed.

Checked on accelerate 1.3.0 and 1.15.0.

1. ``Accelerator._optimizers`` (:func:`prepared_optimizers`): the optimizers ``prepare()`` returned,
   in order. ``Accelerator`` has no public accessor; ``AccelerateWarmupDetector`` reads it to find
   the prepared wrapper of a raw optimizer it was given (under DeepSpeed ZeRO the shard layout is
   only known from the wrapper). Without it (an Accelerate that renamed it) the detector warns
   once and watches the optimizer it was given, which is right everywhere but under ZeRO.
2. The optimizer-offload swap (:func:`swaps_client_optimizer`, :func:`offload_device`): in
   ``Accelerator._prepare_deepspeed``, a client optimizer is replaced by
   ``accelerate.utils.deepspeed.map_pytorch_optim_to_deepspeed(optimizer)`` when
   ``deepspeed_config["zero_optimization"]["offload_optimizer"]["device"]`` (missing: ``"none"``)
   is not ``"none"`` and ``deepspeed_config.get("zero_force_ds_cpu_optimizer", True)`` is true.
   That function returns one of :data:`DEEPSPEED_CPU_OPTIMIZERS` (``DeepSpeedCPUAdam`` unless the
   optimizer is an Adagrad or a Lion). This behaviour is not documented; ``predict_optimizer_swap``
   mirrors it and ``check_optimizer_kept`` recognises its result by class name (DeepSpeed need
   not be importable to check).
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["DEEPSPEED_CPU_OPTIMIZERS", "offload_device", "prepared_optimizers", "swaps_client_optimizer"]

#: What ``map_pytorch_optim_to_deepspeed`` substitutes for a client optimizer (class names).
DEEPSPEED_CPU_OPTIMIZERS = ("DeepSpeedCPUAdam", "DeepSpeedCPUAdagrad", "DeepSpeedCPULion")

_warned_no_list = False


def prepared_optimizers(accelerator: Any) -> list[Any]:
    """What ``accelerator.prepare`` returned for optimizers so far (empty if Accelerate no longer says)."""
    global _warned_no_list
    prepared = getattr(accelerator, "_optimizers", None)
    if isinstance(prepared, (list, tuple)):
        return list(prepared)
    if not _warned_no_list:
        _warned_no_list = True
        warnings.warn(
            "radam_integrations: this Accelerate keeps no Accelerator._optimizers (checked on accelerate "
            "1.3.0-1.15.0), so AccelerateWarmupDetector watches the optimizer it was given; pass the one "
            "accelerator.prepare returned (needed under DeepSpeed ZeRO).",
            RuntimeWarning,
            stacklevel=3,
        )
    return []


def offload_device(config: dict[str, Any]) -> str:
    """``zero_optimization.offload_optimizer.device`` of a DeepSpeed config; ``"none"`` when missing."""
    offload = (config.get("zero_optimization") or {}).get("offload_optimizer") or {}
    return str(offload.get("device", "none"))


def swaps_client_optimizer(config: dict[str, Any]) -> bool:
    """Whether Accelerate replaces the client optimizer by DeepSpeed's CPU one for this config."""
    return offload_device(config) != "none" and bool(config.get("zero_force_ds_cpu_optimizer", True))
