"""Every private or undocumented thing of another library that this package touches, one module each.

Upgrading a framework should mean reading one file here: each entry says what it touches, why
no public route does the job, and the versions it was checked on; each is guarded, so a change
upstream gives a clear error or a documented fallback, and ``tests/test_compat.py`` fails loudly
when an upgrade changes one of them.

* :mod:`.torch`: the fused Adam kernels (with a fallback to the foreach step when they change)
  and the helpers torch's optimizers use: tensor grouping, supported devices and tensor types.
* :mod:`.torch_distributed`: recognising DTensor and FSDP1 flat parameters, and FSDP1's padding.
* :mod:`.deepspeed`: where ZeRO 1/2/3 keep the optimizer state and their partition padding.
* :mod:`.accelerate`: ``Accelerator``'s prepared optimizers, and when it swaps the optimizer for
  DeepSpeed's CPU Adam.
* :mod:`.lightning`: one callback for both Lightning packages, Fabric's callback list and
  hooks, LightningCLI's ``configure_optimizers``.
* :mod:`.enums`: adding a member to a closed ``str`` Enum (CPython's enum internals).
* :mod:`.transformers`: the Trainer's default callback list and ``stateful_callbacks`` layout.
* :mod:`.timm`: timm's default optimizer registry (its module path and row table), Lookahead's
  base optimizer.
* :mod:`.wrappers`: the attribute through which each library's optimizer wrappers expose the
  optimizer they wrap.

Not here, on purpose: the ``torch._foreach_*`` operators in ``optim/_foreach.py``. They are
ATen operators with versioned schemas (``torch.ops.aten._foreach_*``), the same calls
``torch.optim``'s own ``foreach=True`` implementations make, not a private Python attribute;
``tests/test_radam_equivalence.py`` compares that path bit for bit with
``torch.optim.RAdam(foreach=True)``, on the floors (torch 2.4) as on the newest torch.
"""
