"""The node's import settings (``node.import.*`` in config/settings.yaml): the cluster's conventions for files
that do not say (default code scheme, date order) and the bounds of one import."""

from __future__ import annotations

from dataclasses import dataclass, field

from federation.settings import packaged_default

from .dates import check_order


def _scheme(value) -> str | None:
    return str(value).strip() or None


@dataclass(frozen=True)
class ImportOptions:
    """Built without settings, the packaged defaults."""

    #: The scheme of a code written without one (``1071``); None: such a code is refused with suggestions.
    default_scheme: str | None = field(default_factory=packaged_default("node.import.default_scheme", _scheme))
    #: How numeric dates are read: dmy, mdy or ymd.
    date_order: str = field(default_factory=packaged_default("node.import.date_order", check_order))
    max_bytes: int = field(default_factory=packaged_default("api.max_import_bytes", int))
    max_rows: int = field(default_factory=packaged_default("node.import.max_rows", int))
    max_columns: int = field(default_factory=packaged_default("node.import.max_columns", int))
    max_cell_chars: int = field(default_factory=packaged_default("node.import.max_cell_chars", int))
    #: The sum of the uncompressed sizes an .xlsx's zip directory declares (zip bombs), checked before opening it.
    xlsx_max_uncompressed_bytes: int = field(
        default_factory=packaged_default("node.import.xlsx_max_uncompressed_bytes", int))
    #: How many ids of each kind (created, updated, removed) the report lists; the counts are always whole.
    report_ids: int = field(default_factory=packaged_default("node.import.report_ids", int))

    @classmethod
    def from_settings(cls, settings) -> ImportOptions:
        return cls(default_scheme=_scheme(settings.get("node.import.default_scheme")),
                   date_order=check_order(settings.get("node.import.date_order")),
                   max_bytes=int(settings.get("api.max_import_bytes")),
                   max_rows=int(settings.get("node.import.max_rows")),
                   max_columns=int(settings.get("node.import.max_columns")),
                   max_cell_chars=int(settings.get("node.import.max_cell_chars")),
                   xlsx_max_uncompressed_bytes=int(settings.get("node.import.xlsx_max_uncompressed_bytes")),
                   report_ids=int(settings.get("node.import.report_ids")))
