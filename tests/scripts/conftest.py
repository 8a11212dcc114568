# Worker scripts run as subprocesses by the tests; pytest must not import them.
collect_ignore_glob = ["*.py", "*/*.py"]
