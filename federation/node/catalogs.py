"""The catalogues of the hubs a node trusts: what lets a node use a value chain or a scheme it has no plugin for.

A federation's members upgrade on their own schedules: a hub may have a value-chain plugin a node lacks (and the
other way round). Each hub publishes its catalogue at ``/api/v1/catalog`` (federation/catalog_api.py): its value
chains with their stages, its activity schemes with every code, signed with the hub's key. A node reads it from the
URL it trusts the hub at, checks it (cheapest first: the size while it streams in, a bounded parse, the counts, the
signature of a key it trusts for that hub, made for that URL, then the shape), and keeps it. Its cluster may then
claim the hub's value chains, and its members may carry codes of the hub's schemes (each code checked against the
hub's list), although the node's own plugins do not know them.

Every bound is a setting (``catalog.*``); a refused catalogue leaves the previous one in place, with the reason.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from marshmallow import EXCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select

from ..catalog_api import CATALOG_SCHEMA, SIGNATURE_HEADER
from ..db import Database
from ..errors import FederationError, ValidationError
from ..profile.field_types import NO_CONTROLS, SLUG_PATTERN
from ..profile.reader import first_message
from ..signing import JsonLimits, clip, jwk_to_public_key, parse_bounded, verify_signatures
from ..taxonomy import TaxonomyIndex
from .models import HubCatalog, TrustedHubKey

log = logging.getLogger(__name__)

CATALOG_PATH = "/api/v1/catalog"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CatalogLimits:
    """What reading one hub's catalogue may cost (settings ``catalog.*``, ``trust.*`` and ``limits.*``)."""

    max_bytes: int
    max_value_chains: int
    max_stages: int
    max_schemes: int
    max_codes: int
    timeout_s: float
    max_signatures: int
    signature_max_age_s: int
    json: JsonLimits

    @classmethod
    def from_settings(cls, settings) -> CatalogLimits:
        return cls(max_bytes=int(settings.get("catalog.max_bytes")),
                   max_value_chains=int(settings.get("catalog.max_value_chains")),
                   max_stages=int(settings.get("catalog.max_stages")),
                   max_schemes=int(settings.get("catalog.max_schemes")),
                   max_codes=int(settings.get("catalog.max_codes")),
                   timeout_s=float(settings.get("catalog.timeout_s")),
                   max_signatures=int(settings.get("trust.max_signatures")),
                   signature_max_age_s=int(settings.get("trust.signature_max_age_s")),
                   json=JsonLimits(max_depth=int(settings.get("limits.max_json_depth")),
                                   max_items=int(settings.get("limits.max_json_items")),
                                   max_number_digits=int(settings.get("limits.max_number_digits"))))


# -- the document --------------------------------------------------------------------------------------------------

_NAMES = fields.Dict(keys=fields.String(validate=validate.Length(1, 16)),
                     values=fields.String(validate=[validate.Length(1, 300), NO_CONTROLS]), load_default=dict)
_CODE = fields.String(validate=[validate.Length(1, 16), NO_CONTROLS])


class _Stage(Schema):
    class Meta:
        unknown = EXCLUDE  # a newer catalogue may say more: read what this node knows

    id = fields.String(required=True, validate=validate.Regexp(SLUG_PATTERN))
    names = _NAMES
    kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    prefixes = fields.List(_CODE, load_default=list)


class _ValueChain(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Regexp(SLUG_PATTERN))
    names = _NAMES
    ecosystem = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    stages = fields.List(fields.Nested(_Stage), load_default=list)


class _Scheme(Schema):
    class Meta:
        unknown = EXCLUDE

    scheme = fields.String(required=True, validate=[validate.Length(1, 32), NO_CONTROLS])
    names = _NAMES
    codes = fields.List(_CODE, required=True)


class _Catalog(Schema):
    class Meta:
        unknown = EXCLUDE

    schema = fields.String(required=True, validate=validate.Equal(CATALOG_SCHEMA))
    version = fields.String(required=True, validate=validate.Regexp(r"^1\.[0-9]{1,4}$"))
    pivot = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    value_chains = fields.List(fields.Nested(_ValueChain), load_default=list)
    schemes = fields.List(fields.Nested(_Scheme), load_default=list)


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, {"catalog": [message]})


def _check_counts(document, limits: CatalogLimits) -> None:
    """The bounds on what the catalogue lists, before its signature is checked (counting is cheaper)."""
    if type(document) is not dict:
        raise _refuse("the catalogue is not a JSON object")
    chains, schemes = document.get("value_chains"), document.get("schemes")
    chains = chains if type(chains) is list else []
    schemes = schemes if type(schemes) is list else []
    if len(chains) > limits.max_value_chains:
        raise _refuse(f"the catalogue lists {len(chains)} value chains, over the limit of {limits.max_value_chains} "
                      f"(catalog.max_value_chains)")
    for chain in chains:
        stages = chain.get("stages") if type(chain) is dict else None
        if type(stages) is list and len(stages) > limits.max_stages:
            raise _refuse(f"value chain {clip(chain.get('id'))!r} lists {len(stages)} stages, over the limit of "
                          f"{limits.max_stages} (catalog.max_stages)")
    if len(schemes) > limits.max_schemes:
        raise _refuse(f"the catalogue lists {len(schemes)} schemes, over the limit of {limits.max_schemes} "
                      f"(catalog.max_schemes)")
    for scheme in schemes:
        codes = scheme.get("codes") if type(scheme) is dict else None
        if type(codes) is list and len(codes) > limits.max_codes:
            raise _refuse(f"scheme {clip(scheme.get('scheme'))!r} lists {len(codes)} codes, over the limit of "
                          f"{limits.max_codes} (catalog.max_codes)")


def read_catalog(body: bytes, signature: str | None, keys: dict, url: str, limits: CatalogLimits) -> tuple[dict, str]:
    """Check a hub's catalogue: the size, a bounded parse, the counts, the signature (a key in ``keys``, made for
    ``url``, fresh), then its shape. Returns the loaded catalogue and the key id that signed it; raises
    :class:`ValidationError` or :class:`SignatureError` saying what is wrong."""
    if len(body) > limits.max_bytes:
        raise _refuse(f"the catalogue is over {limits.max_bytes} bytes (catalog.max_bytes)")
    try:
        parsed = parse_bounded(body, limits.json)
    except ValueError as exc:
        raise _refuse(f"the catalogue cannot be read: {exc}") from exc
    _check_counts(parsed.document, limits)
    header, _jws = verify_signatures(parsed, signature, keys, max_signatures=limits.max_signatures,
                                     max_age_s=limits.signature_max_age_s, expected_htu=url)
    try:
        catalog = _Catalog().load(parsed.document)
    except SchemaError as exc:
        raise ValidationError(f"the catalogue is not valid: {first_message(exc.messages)}", exc.messages) from exc
    for kind, items, key in (("value chain", catalog["value_chains"], "id"), ("scheme", catalog["schemes"], "scheme")):
        ids = [item[key] for item in items]
        repeated = next((i for n, i in enumerate(ids) if i in ids[:n]), None)
        if repeated is not None:
            raise _refuse(f"the catalogue lists the {kind} {clip(repeated)!r} twice")
    return catalog, header["kid"]


def fetch_catalog(hub_url: str, keys: dict, limits: CatalogLimits) -> tuple[dict, str, str]:
    """GET the catalogue of the hub at ``hub_url`` (the URL the node trusts it at) within ``limits``; returns the
    checked catalogue, the key id that signed it and the sha256 of its bytes."""
    url = hub_url.rstrip("/") + CATALOG_PATH
    session = requests.Session()
    session.trust_env = False
    try:
        with session.get(url, timeout=limits.timeout_s, allow_redirects=False, stream=True,
                         headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise FederationError(f"the hub at {hub_url} answered HTTP {response.status_code} for its catalogue "
                                      f"(a hub older than this node publishes none)")
            body = _read_bounded(response, limits.max_bytes)
            signature = response.headers.get(SIGNATURE_HEADER)
    except requests.RequestException as exc:
        raise FederationError(f"cannot read the catalogue of the hub at {hub_url}: {exc}") from exc
    finally:
        session.close()
    catalog, kid = read_catalog(body, signature, keys, url, limits)
    return catalog, kid, hashlib.sha256(body).hexdigest()


def _read_bounded(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _refuse(f"the catalogue is over {max_bytes} bytes (catalog.max_bytes)")
    chunks, size = [], 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > max_bytes:
            raise _refuse(f"the catalogue is over {max_bytes} bytes (catalog.max_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


# -- what the node keeps ---------------------------------------------------------------------------------------


class _IgnoredScheme(Schema):
    class Meta:
        unknown = EXCLUDE

    scheme = fields.String(validate=validate.Length(max=64))
    codes = fields.Integer()
    members = fields.Integer()


class _Ignored(Schema):
    """What a hub says it set aside of this node's profile (its join or push answer): kept as the hub said it,
    within the hub's own bounds (20 names of each kind)."""

    class Meta:
        unknown = EXCLUDE

    value_chains = fields.List(fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=20))
    value_chains_total = fields.Integer()
    schemes = fields.List(fields.Nested(_IgnoredScheme), validate=validate.Length(max=20))
    schemes_total = fields.Integer()


class HubCatalogs:
    """The catalogues of the hubs this node trusts, and what each hub last said it set aside of this node."""

    def __init__(self, db: Database, settings):
        self.db = db
        self.limits = CatalogLimits.from_settings(settings)

    def trusted_hubs(self) -> dict[str, dict]:
        """Hub URL -> ``{kid: public key}`` of the keys this node trusts for that hub now."""
        at = now()
        hubs: dict[str, dict] = {}
        with self.db.session() as session:
            for row in session.scalars(select(TrustedHubKey)):
                if row.not_after is None or row.not_after > at:
                    hubs.setdefault(row.hub_url, {})[row.kid] = jwk_to_public_key(row.jwk)
        return hubs

    def refresh(self, hub_url: str | None = None) -> list[dict]:
        """Read again the catalogue of ``hub_url`` (default: every trusted hub). One result per hub: ``{"hub_url",
        "ok", "value_chains", "schemes", "reason"}``; a failure keeps the previous catalogue, with its reason."""
        hubs = self.trusted_hubs()
        if hub_url is not None:
            hubs = {url: keys for url, keys in hubs.items() if url == hub_url.rstrip("/") or url == hub_url}
            if not hubs:
                raise ValidationError(f"this node trusts no hub at {hub_url}", {"hub_url": ["not a trusted hub"]})
        return [self._refresh_one(url, keys) for url, keys in sorted(hubs.items())]

    def refresh_in_background(self) -> None:
        """:meth:`refresh` in a thread (after a hub key rotation: the hub waits for the node's answer)."""
        def run():
            try:
                self.refresh()
            except Exception:  # a background refresh must not die silently: logged
                log.exception("refreshing the hubs' catalogues failed")
        threading.Thread(target=run, name="hub-catalogs", daemon=True).start()

    def _refresh_one(self, hub_url: str, keys: dict) -> dict:
        try:
            catalog, kid, sha256 = fetch_catalog(hub_url, keys, self.limits)
        except FederationError as exc:  # refusals of the document and its signature included
            reason = clip(exc.message, 1000)
            with self.db.session() as session:
                row = session.get(HubCatalog, hub_url) or HubCatalog(hub_url=hub_url)
                row.checked_at, row.last_error = now(), reason
                session.add(row)
            log.warning("the catalogue of hub %s was not read: %s", hub_url, reason)
            return {"hub_url": hub_url, "ok": False, "value_chains": None, "schemes": None, "reason": reason}
        at = now()
        with self.db.session() as session:
            row = session.get(HubCatalog, hub_url) or HubCatalog(hub_url=hub_url)
            row.document, row.kid, row.sha256 = catalog, kid, sha256
            row.fetched_at = row.checked_at = at
            row.last_error = None
            session.add(row)
        return {"hub_url": hub_url, "ok": True, "value_chains": len(catalog["value_chains"]),
                "schemes": len(catalog["schemes"]), "reason": None}

    def record_ignored(self, hub_url: str, ignored) -> None:
        """Keep what the hub at ``hub_url`` says it set aside of this node's profile (None or {}: nothing)."""
        try:
            report = _Ignored().load(ignored) if ignored else None
        except SchemaError:
            log.warning("hub %s sent an unreadable report of what it set aside", hub_url)
            return
        with self.db.session() as session:
            row = session.get(HubCatalog, hub_url) or HubCatalog(hub_url=hub_url)
            row.ignored, row.ignored_at = report or None, now()
            session.add(row)

    def _catalogs(self) -> list[tuple[str, dict]]:
        """(hub URL, catalogue) of the hubs trusted now that published one."""
        trusted = set(self.trusted_hubs())
        with self.db.session() as session:
            return [(row.hub_url, row.document) for row in session.scalars(select(HubCatalog).order_by(
                HubCatalog.hub_url)) if row.document is not None and row.hub_url in trusted]

    def value_chains(self) -> dict[str, list[str]]:
        """Value chain id -> the trusted hubs that publish it."""
        chains: dict[str, list[str]] = {}
        for hub_url, catalog in self._catalogs():
            for chain in catalog.get("value_chains", ()):
                chains.setdefault(chain["id"], []).append(hub_url)
        return chains

    def schemes(self) -> dict[str, tuple[frozenset[str], str]]:
        """Scheme -> (its codes, the hub that publishes it); the first hub (by URL) wins a scheme two publish."""
        schemes: dict[str, tuple[frozenset[str], str]] = {}
        for hub_url, catalog in self._catalogs():
            for scheme in catalog.get("schemes", ()):
                schemes.setdefault(scheme["scheme"], (frozenset(scheme["codes"]), hub_url))
        return schemes

    def list(self) -> list[dict]:
        """Each hub's catalogue as the node keeps it (counts, not the lists) and what it set aside of this node."""
        trusted = self.trusted_hubs()
        with self.db.session() as session:
            rows = {row.hub_url: row for row in session.scalars(select(HubCatalog))}
        out = []
        for hub_url in sorted(set(trusted) | set(rows)):
            row = rows.get(hub_url)
            document = row.document if row is not None else None
            out.append({"hub_url": hub_url, "trusted": hub_url in trusted,
                        "value_chains": [c["id"] for c in document["value_chains"]] if document else [],
                        "schemes": [s["scheme"] for s in document["schemes"]] if document else [],
                        "fetched_at": row.fetched_at if row else None, "checked_at": row.checked_at if row else None,
                        "last_error": row.last_error if row else None, "ignored": row.ignored if row else None,
                        "ignored_at": row.ignored_at if row else None})
        return out


class KnownCodes:
    """The codes a node accepts: its own taxonomies', then those of the schemes its trusted hubs publish (read once,
    on the first code of a scheme the node does not know). What :func:`federation.profile.reader.member_code_errors`
    and the member import check codes with (it reads ``by_scheme`` and ``activity_schemes`` for its suggestions:
    the node's own)."""

    def __init__(self, taxonomies: TaxonomyIndex, catalogs: HubCatalogs | None):
        self.taxonomies = taxonomies
        self.catalogs = catalogs
        self._hub_schemes: dict[str, tuple[frozenset[str], str]] | None = None

    @property
    def by_scheme(self) -> dict:
        """The node's own taxonomies (what code suggestions are drawn from)."""
        return self.taxonomies.by_scheme

    @property
    def activity_schemes(self) -> list[str]:
        return self.taxonomies.activity_schemes

    def check(self, scheme: str, code: str) -> str | None:
        reason = self.taxonomies.check(scheme, code)
        if reason is None or scheme in self.taxonomies.by_scheme or self.catalogs is None:
            return reason
        if self._hub_schemes is None:
            self._hub_schemes = self.catalogs.schemes()
        published = self._hub_schemes.get(scheme)
        if published is None:
            known = sorted(set(self.taxonomies.activity_schemes) | set(self._hub_schemes))
            return f"unknown scheme {scheme!r} (known: {', '.join(known)})"
        codes, hub_url = published
        return None if code in codes else f"unknown {scheme} code {code!r} (scheme of the hub at {hub_url})"


def known_value_chains(own: Iterable[str], catalogs: HubCatalogs | None) -> set[str]:
    """The value chains a node's cluster may claim: its plugins' and its trusted hubs'."""
    return set(own) | (set(catalogs.value_chains()) if catalogs is not None else set())
