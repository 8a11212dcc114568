"""Every private or undocumented thing of another library that this package touches, one module each.

Upgrading a framework should mean reading one file here: each entry says what it touches, why
no public route does the job, and the versions it was checked on; each is guarded, so a change
upstream gives a clear error or a documented fallback, and ``tests/test_compat.py`` fails loudly
when an upgrade changes one of them.

* :mod:`.enums`: adding a member to a closed ``str`` Enum (CPython's enum internals).
* :mod:`.transformers`: the Trainer's default callback list and ``stateful_callbacks`` layout.
* :mod:`.timm`: timm's default optimizer registry (its module path and row table).
"""
