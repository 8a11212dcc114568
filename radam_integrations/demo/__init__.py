"""The warmup-ablation demo (``make demo`` / ``radam-integrations demo``).

:mod:`.model` and :mod:`.task` need only torch; :mod:`.ablation` trains with Lightning.
"""
