"""pytest's hook file for the whole suite: shared helpers live in tests/support, not here.

(Wait for conditions with tests.support.wait.eventually; never sleep blindly.)
"""
