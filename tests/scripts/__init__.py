"""Workers the tests launch as separate processes (``python -m tests.scripts.<name>``, torchrun,
``accelerate launch``, ``radam-integrations run``); pytest does not collect them (see conftest.py)."""
