"""The warmup-ablation demo (``make demo`` / ``radam-integrations demo``).

The data flows top-down through one module per idea:

* :mod:`.task` and :mod:`.model`: the generated task and the post-LN Transformer (torch only);
* :mod:`.settings`: the five configurations (arms) and what every run shares;
* :mod:`.training` (with :mod:`.lightning_module`): one run, one arm and seed, under Lightning;
* :mod:`.results`: ``demo_results.json`` written and read, and its ``metrics.csv``;
* :mod:`.summary`: one row of statistics per configuration;
* :mod:`.tables` and :mod:`.figure`: the rows as text and the results as ``demo.png``;
* :mod:`.ablation`: the whole ablation, and the names callers import.

Only :mod:`.lightning_module` imports Lightning, when a run starts; re-rendering results
needs matplotlib alone.
"""
