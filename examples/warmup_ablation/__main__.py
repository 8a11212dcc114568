"""``python -m warmup_ablation``: the paper's warmup ablation (``make demo``, ``make demo-quick``).

::

    python -m warmup_ablation [--quick] [--out runs/demo] [--steps N] [--seeds K] [--threads N]
    python -m warmup_ablation report RUN_DIR [--out PNG] [--no-plot]

Run from a checkout with ``examples/`` on ``PYTHONPATH`` (the Makefile does it). Errors are one
line on stderr with exit code 2.
"""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
