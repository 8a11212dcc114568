"""``python -m radam_integrations [--detect] SCRIPT [ARGS...]``: run a script with RAdam registered.

See :mod:`radam_integrations.runner`. Works under ``torchrun ... -m radam_integrations`` and
``accelerate launch ... -m radam_integrations`` too.
"""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m radam_integrations"))
