"""The node's composition root and app factory: one national cluster's own service."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from connectors.member_import import ImportOptions

from ..catalog_api import catalog_bp
from ..db import Database
from ..freshkeys import FreshKeyStore
from ..mail import Mailer, chosen_sender, mail_senders
from ..registry import Registry
from ..request_log import install as log_requests
from ..settings import Settings, packaged_settings
from ..tokens import NODE_ROLES, TokenService
from ..web import init_api, unicode_unsorted_json
from .activity import ActivityPolicy, MemberActivity
from .announcements import AnnouncementLimits, Announcements
from .api import check_bp, cluster_bp, knowledge_bp, members_bp, profile_bp
from .catalogs import HubCatalogs
from .checks import CheckContext, run_checks
from .compression import GzipCache
from .member_api import RATE_LIMITED, activity_bp, announcements_bp, self_service_bp
from .models import ApiToken
from .notify import HubNotifier
from .self_service import PATH as SELF_SERVICE_PATH
from .self_service import LinkPolicy, LinkSigner, SelfService
from .service import NodeService
from .trust import NodeTrust
from .trust_api import trust_bp

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Node:
    """Everything a node is made of, wired once (like :class:`federation.hub.app.Hub`); the CLI uses it without a
    web server, the app factory serves it."""

    settings: Settings
    registry: Registry
    db: Database
    service: NodeService
    keys: FreshKeyStore
    tokens: TokenService
    hubs: NodeTrust
    #: The catalogues of the hubs it trusts: value chains and schemes it accepts without their plugins.
    catalogs: HubCatalogs | None = None
    #: The gzip of each audience's current profile, made once per published version (served to hubs that ask).
    gzip: GzipCache = field(default_factory=GzipCache)
    #: Pushes "changed" to the trusted hubs after each publication (``node.notify_hubs``), else None.
    notifier: HubNotifier | None = None
    #: The cluster manager's work with members: who needs a nudge, self-service links, announcements.
    activity: MemberActivity | None = None
    self_service: SelfService | None = None
    announcements: Announcements | None = None

    def close(self) -> None:
        """Release the database's connections and the notifier's HTTP session."""
        if self.notifier is not None:
            self.notifier.close()
        self.db.dispose()

    @classmethod
    def build(cls, instance_path: str | Path, overrides: dict | None = None,
              registry: Registry | None = None) -> Node:
        """Wire a node over ``instance_path`` (its SQLite file and ``medmci.yaml`` live there).

        :param overrides: settings that win over every layer (tests, the demo).
        :param registry: an already built registry to share (the demo runs many nodes in one process).
        """
        settings = Settings.load(instance_path, overrides)
        registry = registry or Registry.build(settings)
        db = Database(settings.database_url, MIGRATIONS)
        db.upgrade()
        service = NodeService(db, registry,
                              withdrawn_keep=timedelta(days=float(settings.get("node.withdrawn_keep_days"))),
                              withdrawn_max=int(settings.get("node.withdrawn_max")),
                              import_options=ImportOptions.from_settings(settings),
                              profile_warn_bytes=int(settings.get("node.profile_warn_bytes")))
        service.ensure_published()
        # The node's identity: made on first start (or by `medmci node init`), private keys 0600 in the instance; read
        # again when keys.json changes, so `medmci node rotate-key` reaches a running node at once.
        keys = FreshKeyStore(Path(instance_path) / "keys", create=True)
        catalogs = HubCatalogs(db, settings)
        service.catalogs = catalogs
        node = cls(settings, registry, db, service, keys, TokenService(db, ApiToken, roles=NODE_ROLES),
                   NodeTrust(db, settings), catalogs)
        if settings.get("node.notify_hubs"):
            node.notifier = HubNotifier(node)
            service.on_published.append(node.notifier)
        service.after_import.append(node.import_checks)
        try:
            node.wire_member_services()
        except BaseException:  # a node that does not start leaves no connection behind
            node.close()
            raise
        return node

    def wire_member_services(self) -> None:
        """Member activity, self-service links and announcements, with the mail sender ``mail.sender`` names (a
        name no plugin provides stops the node at start-up)."""
        settings = self.settings
        mailer = Mailer(chosen_sender(mail_senders(self.registry.pm, settings), str(settings.get("mail.sender"))),
                        str(settings.get("mail.from")))
        self.service.audit = self.hubs.audit
        self.activity = MemberActivity(self.db, ActivityPolicy.from_settings(settings),
                                       int(settings.get("members.activity.max_listed")))
        self.self_service = SelfService(self.db, self.service, LinkSigner(self.keys), self.hubs.audit,
                                        LinkPolicy.from_settings(settings), self.hubs.public_url, mailer)
        self.announcements = Announcements(self.db, self.registry, self.hubs.audit,
                                           AnnouncementLimits.from_settings(settings), mailer)

    def import_checks(self, member_ids: Iterable[str]) -> dict:
        """What an import report adds: ``checks`` of the members imported, when there is anything to tell."""
        report = self.check(member_ids)
        return {"checks": report} if report["total"] else {}

    def check(self, member_ids: Iterable[str] | None = None) -> dict:
        """The node's checks (:mod:`federation.node.checks`), of every member or of ``member_ids``."""
        wanted = None if member_ids is None else frozenset(member_ids)
        return run_checks(CheckContext(self.settings, self.registry, self.service, wanted))


def create_node_app(instance_path: str | Path | None = None, overrides: dict | None = None,
                    registry: Registry | None = None, node: Node | None = None) -> Flask:
    """A node app over ``instance_path`` (or over an already built :class:`Node`); the arguments are those of
    :meth:`Node.build`."""
    if node is None:
        if instance_path is None:
            raise ValueError("create_node_app needs an instance_path or a built Node")
        node = Node.build(instance_path, overrides, registry)
    app = Flask(__name__, instance_path=str(Path(node.settings.instance_path).resolve()))
    app.config["JSON_SORT_KEYS"] = False
    unicode_unsorted_json(app)
    app.extensions["medmci"] = node
    api = init_api(app, "Med-MCI node", "A cluster's node: its members and the profile it publishes to the hub.")
    for blueprint in (cluster_bp, knowledge_bp, members_bp, profile_bp, trust_bp, catalog_bp, check_bp,
                      activity_bp, self_service_bp, announcements_bp):
        api.register_blueprint(blueprint)
    limit_rates(app, node.settings)
    log_requests(app, token_paths=(SELF_SERVICE_PATH,))  # a member's link is its credential
    return app


def limit_rates(app: Flask, settings: Settings) -> None:
    """The node's public views that a stranger may call with a guess (a member's self-service link) are
    rate-limited per client address (``rate_limits.self_service``); one limiter per app, as on the hub."""
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      storage_uri=settings.get("rate_limits.storage_uri")
                      or packaged_settings().get("rate_limits.storage_uri"))
    limit = str(settings.get("rate_limits.self_service"))
    for endpoint, view in list(app.view_functions.items()):
        if view in RATE_LIMITED:
            app.view_functions[endpoint] = limiter.limit(limit)(view)  # type: ignore[assignment]
