"""pytest's hook file for the whole suite: shared helpers live in tests/support, not here.

The fixtures of tests/support/fixtures.py (run_dir, zmq_sockets, start_sim) are registered for
every test. Wait for conditions with tests.support.wait.eventually; never sleep blindly.
"""

pytest_plugins = ["tests.support.fixtures"]
