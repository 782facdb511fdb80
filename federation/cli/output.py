"""What the ``medmci`` commands share: the group that turns errors into messages, JSON and time printing, and
hidden aliases for renamed commands."""

from __future__ import annotations

import copy
import json
import logging

import click

from ..display import guarded, guarded_output
from ..errors import FederationError

log = logging.getLogger("federation.cli")


class FederationGroup(click.Group):
    """Turns the federation's errors into a clear message and exit status 1, never a traceback; and whatever a
    command prints goes through :func:`federation.display.guarded` (nodes wrote much of it: names, errors)."""

    def invoke(self, ctx):
        try:
            with guarded_output():
                return super().invoke(ctx)
        except FederationError as exc:
            message = exc.message
            if exc.errors and not all(leaf in message for leaf in _leaves(exc.errors)):  # not when it only repeats
                message += "\n" + json.dumps(exc.errors, indent=2, ensure_ascii=False, default=str)
            # Shown after this group returns, so escaped here: a refusal may quote what a node sent.
            raise click.ClickException(guarded(message)) from exc


def _leaves(errors) -> list[str]:
    """The texts of an error's details (nested dicts and lists of messages)."""
    if isinstance(errors, dict):
        return [leaf for value in errors.values() for leaf in _leaves(value)]
    if isinstance(errors, (list, tuple)):
        return [leaf for value in errors for leaf in _leaves(value)]
    return [str(errors)]


def dump(data) -> str:
    """JSON for machines (``--json``): indented, non-ASCII kept, dates as ISO text."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def when(moment) -> str:
    """A moment to the second, or ``-``."""
    return moment.isoformat(timespec="seconds") if moment else "-"


def warn_renamed(old: str, new: str) -> None:
    """The deprecation line of a renamed command. Logged as a WARNING: without logging set up (the command line)
    Python writes it on stderr; output parsed by scripts (stdout, ``--json``) stays the same."""
    log.warning("`medmci %s` is deprecated and will be removed: use `medmci %s`", old, new)


def deprecated_alias(command: click.Command, old: str, new: str) -> click.Command:
    """``command`` under its old name ``old``: hidden from the help, the same options, and a deprecation line
    naming ``new`` (the full new command, e.g. ``hub harvests``) each time it is used."""
    alias = copy.copy(command)
    alias.name = old
    alias.hidden = True
    invoke = type(command).invoke

    def invoke_with_warning(ctx):
        warn_renamed(" ".join(ctx.command_path.split()[1:]), new)  # the path as typed, without "medmci"
        return invoke(alias, ctx)

    alias.invoke = invoke_with_warning  # type: ignore[method-assign]  # on this copy only, not on its class
    return alias
