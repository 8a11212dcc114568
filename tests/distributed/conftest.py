# The files here are scripts launched by torchrun from the tests one level up, not test modules:
# keep pytest (and --doctest-modules) from importing them, since some need packages that only
# their own launcher's environment has (deepspeed_script.py runs in .venv-deepspeed).
collect_ignore_glob = ["*.py"]
