"""torch.distributed internals: recognising sharded tensors (FSDP2's DTensor, FSDP1's flat parameter).

Checked on torch 2.4.0 and 2.14.1. Neither check imports anything: a DTensor or a flat parameter
can only exist once its module has been imported, so the classes are looked up in
``sys.modules`` (importing ``torch.distributed.tensor`` is slow, and it registers DTensor with
torch's multi-tensor optimizer paths).

1. ``DTensor`` (:func:`is_dtensor`): public as ``torch.distributed.tensor.DTensor`` from torch 2.5;
   torch 2.4 has it only as ``torch.distributed._tensor.DTensor`` (2.4's prototype location, still
   an alias in 2.14). ``isinstance`` against whichever is loaded.
2. FSDP1's ``FlatParameter`` (:func:`is_flat_param`): re-exported as
   ``torch.distributed.fsdp.FlatParameter`` (not listed in ``__all__``); its metaclass makes
   ``isinstance`` true for any tensor carrying torch's ``_is_flat_param`` flag, which is how FSDP1
   marks its flat parameters.
3. ``FlatParameter._shard_numel_padded`` (:func:`flat_param_padding`): the number of padding
   elements at the end of this rank's shard. No public accessor exists (FSDP1 with
   ``use_orig_params=False`` exposes only the flat shard to the optimizer). A flat parameter
   without it counts as unpadded.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:  # for the annotations only (see above: importing it is slow)
    from torch.distributed.tensor import DTensor

__all__ = ["DTENSOR_MODULES", "dtensor_class", "flat_param_padding", "is_dtensor", "is_flat_param"]

#: Where ``DTensor`` is defined, the public module first (torch >= 2.5), then torch 2.4's.
DTENSOR_MODULES = ("torch.distributed.tensor", "torch.distributed._tensor")
#: The package that re-exports FSDP1's ``FlatParameter``.
FSDP_MODULE = "torch.distributed.fsdp"


def dtensor_class() -> type | None:
    """``DTensor`` if its module is loaded (no DTensor can exist otherwise), else ``None``."""
    for name in DTENSOR_MODULES:
        cls = getattr(sys.modules.get(name), "DTensor", None)
        if isinstance(cls, type):
            return cls
    return None


def is_dtensor(t: Any) -> TypeGuard[DTensor]:
    """Whether ``t`` is a ``DTensor`` (FSDP2, tensor parallelism)."""
    cls = dtensor_class()
    return cls is not None and isinstance(t, cls)


def is_flat_param(t: Any) -> bool:
    """FSDP1's ``FlatParameter`` (``use_orig_params=False``): a flat, padded local shard."""
    cls = getattr(sys.modules.get(FSDP_MODULE), "FlatParameter", None)
    return isinstance(cls, type) and isinstance(t, cls)


def flat_param_padding(t: Any) -> int:
    """Trailing padding elements of an FSDP1 flat-parameter shard (0 for anything else)."""
    if not is_flat_param(t):
        return 0
    return int(getattr(t, "_shard_numel_padded", 0) or 0)
