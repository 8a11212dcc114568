"""Where optimizer wrappers keep the optimizer they wrap: one row per library.

The warmup detector reads the state of the optimizer that steps, so it follows each wrapper to
what it wraps (``warmup.unwrap.wrapper_chain``). torch has no protocol for this (an
``Optimizer`` has no notion of an inner optimizer), so the attribute names are each library's
own. An attribute is followed only when it holds something with ``param_groups``, so a wrapper
that uses the same name for something else is not followed. The order of
:data:`WRAPPER_ATTRIBUTES` is the order the attributes are tried in.
"""

from __future__ import annotations

from dataclasses import dataclass

from .timm import LOOKAHEAD_BASE_ATTRIBUTE

__all__ = ["WRAPPERS", "WRAPPER_ATTRIBUTES", "Wrapper"]


@dataclass(frozen=True)
class Wrapper:
    """How one library's optimizer wrappers expose the optimizer they wrap."""

    library: str
    classes: str
    attribute: str
    public: bool  #: documented (a public attribute or property) rather than an internal one
    checked: str  #: the versions it was checked on


WRAPPERS: tuple[Wrapper, ...] = (
    Wrapper(
        "Accelerate", "AcceleratedOptimizer (and DeepSpeedOptimizerWrapper, its subclass)", "optimizer",
        public=True, checked="accelerate 1.3.0, 1.15.0",
    ),
    Wrapper(
        "Lightning", "LightningOptimizer, Fabric's _FabricOptimizer: a read-only property", "optimizer",
        public=True, checked="lightning 2.5.0, 2.6.6",
    ),
    Wrapper(
        "DeepSpeed", "DeepSpeedZeroOptimizer, DeepSpeedZeroOptimizer_Stage3 (set in __init__)", "optimizer",
        public=False, checked="deepspeed 0.19.8",
    ),
    Wrapper(
        "Lightning", "LightningOptimizer, _FabricOptimizer: the attribute behind the property", "_optimizer",
        public=False, checked="lightning 2.5.0, 2.6.6",
    ),
    Wrapper(
        "SAM-style wrappers", "sharpness-aware minimisation wrappers (no library of ours uses it)",
        "base_optimizer", public=False, checked="not tied to a library version",
    ),
    Wrapper("timm", "Lookahead", LOOKAHEAD_BASE_ATTRIBUTE, public=False, checked="timm 1.0.12, 1.0.31"),
)  # fmt: skip

#: The attribute names, in the order they are tried.
WRAPPER_ATTRIBUTES: tuple[str, ...] = tuple(dict.fromkeys(w.attribute for w in WRAPPERS))
