"""``python -m warmup_study``: the warmup detector's advice on real data (``make study``).

::

    python -m warmup_study [--quick] [--out runs/study] [--tasks T,...] [--seeds K] [--workers N]
    python -m warmup_study report RUN_DIR [--no-plot]

Run from a checkout with ``examples/`` and ``benchmarks/`` on ``PYTHONPATH`` (the Makefile does it).
"""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
