"""What the tests share: small problems, an independent RAdam reference, comparisons.

Imported by test modules (``from .helpers.problems import ...``) and by the workers in
``tests/scripts/`` (``from tests.helpers... import ...``); nothing here is a test.
"""
