"""Funding calls at the hub: imported from files, listed, and checked against what a meta-cluster or a pilot could
apply with.

- :meth:`FundingCalls.import_file`: a CSV or JSON file read by ``connectors/funding_calls/`` (every call valid, or
  nothing stored), upserted by id in one transaction and audited (``calls.imported``, with the ids created and
  updated);
- :meth:`FundingCalls.page` and :meth:`FundingCalls.get`: the open calls (deadline today or later) by deadline, or
  every call;
- :meth:`FundingCalls.eligible`: for a meta-cluster or a pilot, the open calls it may apply to, and for the others
  the gaps (from the plugins' rules, hook ``medmci_eligibility_rules``), each with the members and knowledge
  entities of the federation that could fill it (:class:`~federation.hub.funding_candidates.Candidates`).

The consortium is read for one audience (:mod:`federation.hub.funding_partners`): an anonymous reader's is made of
public members only, and its candidates too. The work of one request is bounded by the ``funding.*`` settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from connectors.funding_calls import CallLimits, read_calls

from ..db import Database
from ..eligibility import (
    Consortium,
    CountryLists,
    EligibilityRule,
    FundingCall,
    Gap,
    Verdict,
    call_from_dict,
    call_to_dict,
    check_gaps,
    check_rule,
)
from ..errors import NotFound, PluginError
from ..plugin_calls import collect
from ..plugin_manager import plugin_error
from ..registry import Registry
from ..settings import Settings
from .audit import record
from .funding_candidates import Candidates
from .funding_partners import ConsortiumReader
from .funding_tables import FundingCallRow

HOOK = "medmci_eligibility_rules"


@dataclass(frozen=True)
class FundingLimits:
    """The ``funding.*`` bounds."""

    max_bytes: int
    max_calls: int
    max_checked_calls: int
    max_candidates_per_gap: int
    max_candidate_rows: int

    @classmethod
    def from_settings(cls, settings: Settings) -> FundingLimits:
        # One read per setting, spelled out: tests/test_settings_defaults.py finds the reads in the source.
        return cls(max_bytes=int(settings.get("funding.max_bytes")),
                   max_calls=int(settings.get("funding.max_calls")),
                   max_checked_calls=int(settings.get("funding.max_checked_calls")),
                   max_candidates_per_gap=int(settings.get("funding.max_candidates_per_gap")),
                   max_candidate_rows=int(settings.get("funding.max_candidate_rows")))


def load_rules(registry: Registry, settings: Settings) -> list[tuple[str, EligibilityRule]]:
    """Every plugin's rules, with the plugin that gave each (refused at load: see the hook's documentation)."""
    return [(p.plugin, p.item) for p in collect(registry.pm, HOOK, None, check_rule, settings=settings)]


class FundingCalls:
    """Funding calls and eligibility (see the module docstring)."""

    def __init__(self, db: Database, registry: Registry, limits: FundingLimits, lists: CountryLists,
                 rules: list[tuple[str, EligibilityRule]], consortia: ConsortiumReader,
                 today: Callable[[], date] = date.today):
        self.db = db
        self.registry = registry
        self.limits = limits
        self.lists = lists
        self.rules = rules
        self.consortia = consortia
        self.today = today

    # ------------------------------------------------------------------------------------------------ import

    def import_file(self, data: bytes | str, actor: str) -> dict:
        """Store every call of the file (new ids created, known ones replaced), or none: a
        :class:`~federation.errors.ValidationError` with every error of every call (line or item, field)."""
        read = read_calls(data, CallLimits(self.limits.max_bytes, self.limits.max_calls), self.lists,
                          self.registry.taxonomies)
        now = datetime.now(UTC)
        created, updated, unchanged = [], [], 0
        with self.db.session() as session:
            known = {row.id: row for row in session.scalars(
                select(FundingCallRow).where(FundingCallRow.id.in_([c.id for c in read.calls])))}
            for call in read.calls:
                document = call_to_dict(call)
                row = known.get(call.id)
                if row is None:
                    created.append(call.id)
                    row = FundingCallRow(id=call.id)
                    session.add(row)
                elif row.document == document:
                    unchanged += 1
                    continue
                else:
                    updated.append(call.id)
                row.programme, row.title, row.deadline, row.opens = (call.programme, call.title, call.deadline,
                                                                      call.opens)
                row.document, row.imported_at, row.imported_by = document, now, actor
            record(session, "calls.imported", actor, format=read.format, created=created, updated=updated,
                   unchanged=unchanged)
        return {"format": read.format, "calls": len(read.calls), "created": created, "updated": updated,
                "unchanged": unchanged}

    # ------------------------------------------------------------------------------------------------ reading

    def page(self, include_closed: bool, offset: int, limit: int | None) -> tuple[int, list[dict]]:
        """``(total, a window of calls)`` by deadline (then id): the open ones, or every one."""
        query = select(FundingCallRow.document).order_by(FundingCallRow.deadline, FundingCallRow.id)
        count = select(func.count()).select_from(FundingCallRow)
        if not include_closed:
            query = query.where(FundingCallRow.deadline >= self.today())
            count = count.where(FundingCallRow.deadline >= self.today())
        with self.db.session() as session:
            total = session.scalar(count) or 0
            query = query.offset(min(offset, total))
            rows = session.scalars(query if limit is None else query.limit(limit))
            return total, [self._shown(document) for document in rows]

    def get(self, call_id: str) -> dict:
        with self.db.session() as session:
            row = session.get(FundingCallRow, call_id)
            if row is None:
                raise NotFound(f"no funding call {call_id!r} (see /api/v1/calls?all=true)")
            return self._shown(row.document)

    def _shown(self, document: dict) -> dict:
        return {**document, "open": date.fromisoformat(document["deadline"]) >= self.today()}

    # ------------------------------------------------------------------------------------------------ eligibility

    def eligible(self, metacluster: str | None, pilot: str | None, federation: bool) -> dict:
        """The open calls the meta-cluster's (or the pilot's) consortium may apply to, and for the others the gaps
        with their candidates. At most ``funding.max_checked_calls`` calls, nearest deadline first."""
        consortium, directory = (self.consortia.of_pilot(pilot) if pilot is not None
                                 else self.consortia.of_metacluster(metacluster or "", federation))
        today = self.today()
        with self.db.session() as session:
            where = FundingCallRow.deadline >= today
            total = session.scalar(select(func.count()).select_from(FundingCallRow).where(where)) or 0
            documents = list(session.scalars(select(FundingCallRow.document).where(where)
                                             .order_by(FundingCallRow.deadline, FundingCallRow.id)
                                             .limit(self.limits.max_checked_calls)))
        verdicts = [self.verdict(call_from_dict(d), consortium) for d in documents]
        candidates = Candidates(self.db, self.registry, directory, consortium, federation,
                                self.limits.max_candidates_per_gap, self.limits.max_candidate_rows,
                                self.consortia.pivot_classes)
        return {"consortium": _described(consortium), "today": today.isoformat(), "open_calls": total,
                "checked": len(verdicts), "cut": total > len(verdicts),
                "eligible": [self._shown(call_to_dict(v.call)) for v in verdicts if v.eligible],
                "not_eligible": [{**self._shown(call_to_dict(v.call)),
                                  "gaps": [_gap(rule, gap, candidates.of(gap, v.call)) for rule, gap in v.gaps]}
                                 for v in verdicts if not v.eligible]}

    def verdict(self, call: FundingCall, consortium: Consortium) -> Verdict:
        """Every rule's gaps for one call; a rule that raises or answers wrongly is a :class:`PluginError`."""
        gaps: list[tuple[str, Gap]] = []
        for plugin, rule in self.rules:
            try:
                answer = check_gaps(rule.check(call, consortium), rule)
            except PluginError:
                raise
            except Exception as exc:
                raise plugin_error(self.registry.pm, plugin, HOOK,
                                   f"rule {rule.name!r} failed on call {call.id!r}: {type(exc).__name__}: {exc}"
                                   ) from exc
            gaps += [(rule.name, gap) for gap in answer]
        return Verdict(call, tuple(gaps))


def _described(consortium: Consortium) -> dict:
    kinds: dict[str, int] = {}
    for partner in consortium.partners:
        kinds[partner.kind] = kinds.get(partner.kind, 0) + 1
    return {"kind": consortium.kind, "id": consortium.id, "name": consortium.name,
            "value_chain": consortium.value_chain, "partners": len(consortium.partners),
            "countries": sorted({p.country for p in consortium.partners}), "kinds": dict(sorted(kinds.items()))}


def _gap(rule: str, gap: Gap, candidates: list[dict]) -> dict:
    return {"rule": rule, "text": gap.text, "fillable": gap.fillable, "candidates": candidates}
