"""Framework adapters. Each module imports its framework lazily, when it is used.

* :mod:`.transformers`: ``TrainingArguments(optim="radam")`` and the warmup detector callback.
* :mod:`.timm`: ``create_optimizer_v2(model, opt="radam")``.
* :mod:`.lightning`: the warmup detector callback for Lightning and Fabric.
* :mod:`.accelerate`: helpers for Accelerate loops (logging, checkpointing, DeepSpeed checks).
"""
