"""``import radam_integrations.hf``: register ``optim="radam"``/``"radamw"`` with Hugging Face transformers.

Importing this module runs :func:`radam_integrations.integrations.transformers.register`, so
``TrainingArguments(optim="radam")``, ``--optim radam`` through ``HfArgumentParser`` and loading a
``training_args.bin`` that holds ``"radam"`` work in this process. Import it before the arguments
are built::

    import radam_integrations.hf  # noqa: F401
    from transformers import TrainingArguments

    args = TrainingArguments("out", optim="radam")

``python -m radam_integrations.hf SCRIPT [ARGS...]`` (deprecated: it goes in the next release) runs
``python -m radam_integrations SCRIPT`` (see :mod:`radam_integrations.runner`).
"""

from __future__ import annotations

from .integrations.transformers import WarmupDetectorCallback, register

__all__ = ["WarmupDetectorCallback", "register"]

register()

if __name__ == "__main__":  # the runner's older spelling, deprecated
    from ._deprecated_runner import run_as_the_runner

    run_as_the_runner("radam_integrations.hf")
