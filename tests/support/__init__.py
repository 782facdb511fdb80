"""What the test modules share: settings, document builders, fake and real nodes, servers, clients, assertions and
waits. Fixtures defined here are registered by tests/conftest.py (``pytest_plugins``); test modules import plain
helpers from here, never from another test module."""
