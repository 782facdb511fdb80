"""Which plugin hooks ran during the test session, for the check that every hookspec is exercised by some test
(``test_every_hook_has_a_test`` in tests/test_plugin_manager.py).

Every plugin manager the code builds (``get_plugin_manager``) is watched from the start of the session: pluggy's
hook-call monitoring sees the hooks called through ``pm.hook``, and each implementation is wrapped so that it is
seen when it runs, because ``federation.plugin_manager.notify`` runs a notification hook's implementations one by
one rather than through ``pm.hook``. Tests marked ``checks_the_session`` run after every other test.
"""

from __future__ import annotations

import functools

import pluggy
import pytest

import federation.plugin_manager
import federation.registry

MARKER = "checks_the_session"


class HookCalls:
    """The names of the hooks that ran, and how many tests that could run them the session selected."""

    def __init__(self):
        self.called: set[str] = set()
        self.other_tests = 0

    def watch(self, pm: pluggy.PluginManager) -> pluggy.PluginManager:
        """Record the hooks ``pm`` runs from now on, including those of plugins registered later."""
        pm.add_hookcall_monitoring(before=lambda name, _impls, _kwargs: self.called.add(name),
                                   after=lambda *_args: None)
        register = pm.register

        @functools.wraps(register)
        def register_and_watch(plugin, name=None):
            registered = register(plugin, name)
            self._wrap_implementations(pm)
            return registered

        pm.register = register_and_watch
        self._wrap_implementations(pm)
        return pm

    def _wrap_implementations(self, pm: pluggy.PluginManager) -> None:
        for hook_name, caller in vars(pm.hook).items():
            for impl in caller.get_hookimpls():
                if not getattr(impl.function, "_records_hook_calls", False):
                    impl.function = self._recording(hook_name, impl.function)

    def _recording(self, hook_name: str, function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            self.called.add(hook_name)
            return function(*args, **kwargs)

        run._records_hook_calls = True
        return run


HOOK_CALLS = HookCalls()
_unwatched = federation.plugin_manager.get_plugin_manager


def _watched_plugin_manager(settings, **options):
    return HOOK_CALLS.watch(_unwatched(settings, **options))


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARKER}: runs after every other test and checks what they did")
    # registry.py imported the function by name: both names must lead to the watched one.
    federation.plugin_manager.get_plugin_manager = _watched_plugin_manager
    federation.registry.get_plugin_manager = _watched_plugin_manager


def pytest_unconfigure(config):
    federation.plugin_manager.get_plugin_manager = _unwatched
    federation.registry.get_plugin_manager = _unwatched


@pytest.hookimpl(trylast=True)  # after -k and -m deselected what they do
def pytest_collection_modifyitems(session, config, items):
    checks = [item for item in items if item.get_closest_marker(MARKER)]
    others = [item for item in items if not item.get_closest_marker(MARKER)]
    items[:] = others + checks
    HOOK_CALLS.other_tests = len(others)


@pytest.fixture(scope="session")
def hook_calls() -> HookCalls:
    """The hooks that ran so far in this session (all of them, for a test marked ``checks_the_session``)."""
    return HOOK_CALLS
