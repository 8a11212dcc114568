"""``python -m radam_integrations.experimental [--detect] SCRIPT [ARGS...]``: the runner, with the
experimental names registered too (see :mod:`radam_integrations.experimental.registration`).

Works under ``torchrun ... -m radam_integrations.experimental`` and ``accelerate launch ... -m ...`` too.
"""

import sys

from ..runner import main
from .registration import NAMES, register_all

if __name__ == "__main__":
    sys.exit(main(prog="python -m radam_integrations.experimental", register=register_all, names=NAMES))
