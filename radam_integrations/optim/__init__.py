"""The optimizer: :class:`RAdam` and its step paths (no framework imports)."""

from .radam import RAdam, SparseGradientError, StepPath

__all__ = ["RAdam", "SparseGradientError", "StepPath"]
