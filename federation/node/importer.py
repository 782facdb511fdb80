"""The node's member import: a file read row by row (connectors.member_import), every row checked, then written
all or nothing in one transaction, or only reported (a dry run).

Rows are validated as they stream in and written in batches with Core executemany (inserts) and bulk updates by
primary key, inside the one transaction: a row error anywhere rolls the whole import back, so bad input changes
nothing. A row identical to the stored member is counted unchanged and not written; an import that creates,
updates and removes nothing publishes no new profile version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from connectors.member_import import ImportFormatError, ImportOptions, open_member_file
from connectors.member_import.codes import CodeSuggester
from connectors.member_import.ids import stable_id
from connectors.member_import.rows import RowChecker, RowParser

from ..errors import ValidationError
from ..profile.member_fields import absent, carried
from .models import MemberLink, MemberRow
from .schemas import NodeMemberInputSchema

#: Rows validated before each write of the batch (and ids per IN list: under every database's bound).
BATCH = 500
_TABLE = cast(Table, MemberRow.__table__)


@dataclass
class ImportReport:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def as_dict(self, detected: dict, dry_run: bool, published: bool, report_ids: int) -> dict:
        return {"rows": self.rows, "created": len(self.created), "updated": len(self.updated),
                "unchanged": self.unchanged, "removed": len(self.removed), "dry_run": dry_run,
                "published": published, "file": detected,
                "ids": {"created": self.created[:report_ids], "updated": self.updated[:report_ids],
                        "removed": self.removed[:report_ids]}}


def stored_values(member: dict, stored_fields: tuple[str, ...]) -> dict:
    """The columns a member row gets from an imported member (what ``_apply_member`` sets)."""
    values = {name: carried(member, name) for name in stored_fields}
    values["status"] = member.get("status") or absent("status")
    values["visibility"] = member.get("visibility") or "public"
    return values


class MemberImporter:
    """One import over a node's database (built by the node service, which publishes afterwards)."""

    def __init__(self, taxonomies, options: ImportOptions, stored_fields: tuple[str, ...],
                 now: Callable[[], datetime]):
        self.options = options
        self.stored_fields = stored_fields
        self.now = now
        self.suggester = CodeSuggester(taxonomies)
        self.taxonomies = taxonomies

    def run(self, session: Session, data: bytes | str | BinaryIO, replace: bool, dry_run: bool
            ) -> tuple[ImportReport, dict]:
        """Check every row and (unless ``dry_run``) write them in ``session``; raise :class:`ValidationError`
        with every row's errors (the caller's transaction then rolls back)."""
        try:
            members = open_member_file(data, self.options)
            detected = members.detected.describe()
            report = self._rows(session, members, dry_run)
        except ImportFormatError as exc:
            raise ValidationError(f"the file cannot be read: {exc}", {"file": [str(exc)]}) from exc
        if report.errors:
            errors = report.errors
            summary = "; ".join(f"line {e['line']}: {_one_line(e)}" for e in errors[:3])
            raise ValidationError(f"{len(errors)} of {report.rows} rows have errors; nothing was imported "
                                  f"({summary})", {"rows": errors, "detected": detected})
        if not report.rows:
            raise ValidationError("the file has no member rows; nothing was imported", {"file": ["no rows"]})
        if replace:
            self._remove_absent(session, report, dry_run)
        return report, detected

    def _rows(self, session: Session, members, dry_run: bool) -> ImportReport:
        parser = RowParser(members.header, self.options.default_scheme, self.options.date_order,
                           self.options.max_cell_chars, self.suggester)
        checker = RowChecker(NodeMemberInputSchema(), self.taxonomies, self.suggester)
        report = ImportReport()
        self._existing = set(session.scalars(select(MemberRow.id)))
        self._seen: dict[str, int] = {}
        batch: list[dict] = []
        timestamp = self.now()
        for line, cells in members:
            report.rows += 1
            member, problems, errors = checker.check(*parser.parse(cells))
            given = bool(member.get("id"))
            if not given:
                member["id"] = stable_id(member.get("name"), member.get("city"))
            member_id = member["id"]
            first = self._seen.setdefault(member_id, line)
            if first != line:
                message = (f"duplicate member id {member_id!r} (first on line {first})" if given else
                           f"the same member as line {first} (same name and city, no id): a duplicate row, or "
                           f"two members to tell apart with an id")
                errors["id"] = [message]
                problems.append({"field": "id", "value": member_id, "message": message})
            if errors:
                report.errors.append({"line": line, "id": member_id,
                                      "member": str(member.get("name") or ""), "errors": errors,
                                      "problems": problems})
                continue
            if report.errors:
                continue  # nothing will be written: only look for more errors
            batch.append(member)
            if len(batch) >= BATCH:
                self._write(session, batch, report, timestamp, dry_run)
                batch = []
        if batch and not report.errors:
            self._write(session, batch, report, timestamp, dry_run)
        return report

    def _write(self, session: Session, batch: list[dict], report: ImportReport, timestamp: datetime,
               dry_run: bool) -> None:
        ids = [m["id"] for m in batch if m["id"] in self._existing]
        columns = [_TABLE.c[name] for name in (*self.stored_fields, "status", "visibility")]
        stored = {row.id: row._asdict() for row in
                  session.execute(select(_TABLE.c.id, *columns).where(_TABLE.c.id.in_(ids)))} if ids else {}
        inserts, updates = [], []
        for member in batch:
            values = stored_values(member, self.stored_fields)
            before = stored.get(member["id"])
            if before is None:
                report.created.append(member["id"])
                inserts.append({"id": member["id"], **values, "created_at": timestamp, "updated_at": timestamp})
            elif any(before[name] != value for name, value in values.items()):
                report.updated.append(member["id"])
                updates.append({"id": member["id"], **values, "updated_at": timestamp})
            else:
                report.unchanged += 1
        if dry_run:
            return
        if inserts:
            session.execute(insert(_TABLE), inserts)  # Core executemany: no ORM work per member
        if updates:
            session.execute(update(MemberRow), updates)  # bulk UPDATE by primary key (executemany)

    def _remove_absent(self, session: Session, report: ImportReport, dry_run: bool) -> None:
        gone = sorted(self._existing - set(self._seen))
        report.removed = gone
        if dry_run:
            return
        for start in range(0, len(gone), BATCH):
            session.execute(delete(MemberRow).where(MemberRow.id.in_(gone[start:start + BATCH])))
            session.execute(MemberLink.end_open(gone[start:start + BATCH], self.now()))


def _one_line(error: dict) -> str:
    problem = error["problems"][0] if error.get("problems") else None
    if problem is None:
        return "invalid row"
    text = f"{problem['field']} {problem['value']!r}: {problem['message']}"
    return text + (f" (did you mean {problem['suggestion']}?)" if problem.get("suggestion") else "")
