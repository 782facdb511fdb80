"""The hub's app factory: harvests the nodes and forms the meta-clusters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from connectors.http_fetch import NodeClient

from .. import gc_policy
from ..benchmarking.indicators import load_indicators
from ..catalog_api import catalog_bp
from ..db import Database
from ..eligibility import CountryLists
from ..registry import Registry
from ..request_log import install as log_requests
from ..settings import Settings, packaged_settings
from ..signing.httpsig import HubRequestSigner
from ..tokens import HUB_ROLES, TokenService
from ..web import init_api, unicode_unsorted_json
from .api import RATE_LIMITED, admin_bp, harvests_bp, metaclusters_bp, nodes_bp
from .audit import AuditLog, token_event
from .benchmark_api import benchmarks_bp
from .benchmarks import BenchmarkLimits, BenchmarkService, country_groups
from .freshness import FreshnessPolicy
from .funding import FundingCalls, FundingLimits, load_rules
from .funding_api import calls_bp
from .funding_partners import ConsortiumReader
from .harvest import Harvester
from .health import HealthPolicy
from .hosted import HostedProfiles
from .hubkeys import FreshKeyStore
from .invitations import InvitationService
from .knowledge import KnowledgeDirectory
from .knowledge_api import knowledge_bp
from .knowledge_figures import KnowledgeFigures
from .limits import HarvestLimits
from .matches_api import matches_bp
from .matching import MatchService
from .meetings import MeetingService
from .models import ApiToken
from .nodes import NodeDirectory
from .pilot_teams import PilotTeams
from .pilot_work import PilotWork
from .pilots import PilotLimits, PilotService, RepresentationOf
from .pilots_api import pilots_bp
from .queries import HubQueries
from .replay import NonceLedger
from .scheduler import HarvestScheduler
from .subcluster_comparison import SubclusterComparisons
from .subclusters_api import subclusters_bp
from .workers import CeleryDispatcher, make_celery

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Hub:
    """Everything the hub is made of, wired once; the CLI uses it without a web server."""

    settings: Settings
    registry: Registry
    db: Database
    nodes: NodeDirectory
    harvester: Harvester
    queries: HubQueries
    keys: FreshKeyStore
    tokens: TokenService
    audit: AuditLog
    pilots: PilotService
    pilot_work: PilotWork
    pilot_teams: PilotTeams
    hosted: HostedProfiles
    knowledge: KnowledgeDirectory
    figures: KnowledgeFigures
    invitations: InvitationService
    matches: MatchService
    meetings: MeetingService
    subclusters: SubclusterComparisons
    benchmarks: BenchmarkService
    funding: FundingCalls
    scheduler: HarvestScheduler | None = None

    def start_scheduler(self) -> HarvestScheduler:
        """Harvest due nodes in the background (every harvest.interval_s, sooner on a push)."""
        self.scheduler = HarvestScheduler(self.harvester, self.settings.get("harvest.interval_s")).start()
        return self.scheduler

    def close(self) -> None:
        """Release what the hub holds open: HTTP connections, the broker's, the database's."""
        if self.scheduler is not None:
            self.scheduler.stop()
        self.harvester.client.close()
        if self.harvester.dispatcher is not None:
            self.harvester.dispatcher.close()
        self.db.dispose()

    @classmethod
    def build(cls, instance_path: str | Path, overrides: dict | None = None,
              registry: Registry | None = None, worker: bool = False,
              representation_of: RepresentationOf | None = None) -> Hub:
        """Wire a hub over its instance folder. ``worker``: for a harvest worker process, which fetches what the
        hub queues and must sign as that hub (its keys must be there; none is made). ``representation_of``: a
        meta-cluster's scientific-representation figures, which pilots keep at creation and report on; without it
        the hub's own (:meth:`KnowledgeFigures.representation_of`, ``federation/hub/knowledge_figures.py``)."""
        settings = Settings.load(instance_path, overrides)
        gc_policy.configure(settings.get("gc.fewer_collections"))  # the process's batch work: see gc_policy
        registry = registry or Registry.build(settings)
        db = Database(settings.database_url, MIGRATIONS)
        db.upgrade()
        # The hub's own key: it signs the hub's requests, so nodes serve it their federation audience. Read again
        # whenever keys.json changes, so a `hub rotate-key` reaches this process (a worker too) without a restart.
        keys = FreshKeyStore(Path(instance_path) / "keys", create=not worker)
        limits = HarvestLimits.from_settings(settings)
        client = NodeClient(timeout_s=settings.get("harvest.timeout_s"),
                            discovery_max_bytes=settings.get("limits.discovery_max_bytes"),
                            max_signature_bytes=settings.get("trust.max_signature_header_bytes"),
                            json_limits=limits.json,
                            connect_timeout_s=settings.get("harvest.connect_timeout_s"),
                            max_bytes=settings.get("harvest.max_bytes"),
                            max_decompressed_bytes=settings.get("harvest.max_decompressed_bytes"),
                            user_agent=settings.get("harvest.user_agent"),
                            allow_networks=settings.get("harvest.allow_networks") or (),
                            auth=HubRequestSigner(current=keys.current_key))
        max_age = int(settings.get("trust.signature_max_age_s"))
        grace = timedelta(days=float(settings.get("trust.key_grace_days")))
        harvester = Harvester(db, registry, client, settings.get("harvest.concurrency"), signature_max_age_s=max_age,
                              key_grace=grace, health=HealthPolicy.from_settings(settings),
                              run_lease=timedelta(seconds=float(settings.get("jobs.run_lease_s"))),
                              interval=timedelta(seconds=float(settings.get("harvest.interval_s"))),
                              discovery_max_age=timedelta(seconds=float(
                                  settings.get("harvest.discovery_max_age_s"))),
                              limits=limits, settings=settings,
                              dispatcher=None if worker or not settings.get("harvest.broker_url") else
                              CeleryDispatcher(make_celery(settings)),
                              key_refresh_interval=timedelta(
                                  seconds=float(settings.get("trust.key_refresh_interval_s"))))
        # Matchmaking follows the current view: after each harvest's formation, and each decision's.
        matches = MatchService(db, registry, settings)
        harvester.after_formation.append(matches.refresh_quietly)

        def on_decision(node_id: str) -> None:
            harvester.aggregator.reform_node(node_id)
            matches.refresh_quietly()

        nodes = NodeDirectory(db, client, max_age, grace, limits.trust,
                              max_pending=int(settings.get("registration.max_pending")),
                              max_pending_per_source=int(settings.get("registration.max_pending_per_source")),
                              nonces=NonceLedger(db, max_age, int(settings.get("trust.signature_skew_s")),
                                                 int(settings.get("trust.max_nonces"))),
                              on_decision=on_decision)
        pilot_limits = PilotLimits.from_settings(settings)
        queries = HubQueries(db, registry, FreshnessPolicy.from_settings(settings))
        tokens = TokenService(db, ApiToken, roles=HUB_ROLES, audit=token_event)
        knowledge = KnowledgeDirectory(db, registry, int(settings.get("knowledge.max_entities")),
                                       int(settings.get("knowledge.max_same_as_shared")))
        figures = KnowledgeFigures(db, registry, knowledge, queries)
        pilot_work = PilotWork(db, pilot_limits)
        meetings = MeetingService(db, int(settings.get("matching.max_open_meetings_per_member")),
                                  int(settings.get("matching.max_note_chars")))
        pilots = PilotService(db, pilot_limits, representation_of or figures.representation_of,
                              knowledge_of=figures.knowledge_of)
        funding = FundingCalls(db, registry, FundingLimits.from_settings(settings),
                               CountryLists.from_settings(settings), load_rules(registry, settings),
                               ConsortiumReader(db, registry, figures, pilots))
        return cls(settings, registry, db, nodes, harvester, queries, keys, tokens, AuditLog(db), pilots,
                   pilot_work, PilotTeams(db, registry, settings, pilot_work, pilot_limits),
                   HostedProfiles(db, registry, tokens), knowledge, figures,
                   InvitationService(db, registry, settings, figures), matches,
                   meetings, subclusters=SubclusterComparisons(queries, harvester.aggregator, registry),
                   benchmarks=BenchmarkService(db, registry, load_indicators(registry.pm, settings),
                                               BenchmarkLimits.from_settings(settings), country_groups(settings),
                                               partner_countries_met=meetings.partner_countries_met),
                   funding=funding)


def create_hub_app(instance_path: str | Path | None = None, overrides: dict | None = None,
                   hub: Hub | None = None) -> Flask:
    """A hub app over ``instance_path`` (or over an already built :class:`Hub`)."""
    if hub is None:
        if instance_path is None:
            raise ValueError("create_hub_app needs an instance_path or a built Hub")
        hub = Hub.build(instance_path, overrides)
    app = Flask(__name__, instance_path=str(Path(hub.settings.instance_path).resolve()))
    unicode_unsorted_json(app)
    app.extensions["medmci"] = hub
    api = init_api(app, "Med-MCI hub", "Harvests cluster nodes and forms Mediterranean meta-clusters.")
    for blueprint in (nodes_bp, harvests_bp, metaclusters_bp, admin_bp, catalog_bp, pilots_bp, knowledge_bp,
                      matches_bp, subclusters_bp, benchmarks_bp, calls_bp):
        api.register_blueprint(blueprint)
    # One limiter per app, so two hubs in one process (tests, the demo) never share counters.
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      storage_uri=hub.settings.get("rate_limits.storage_uri")
                      or packaged_settings().get("rate_limits.storage_uri"))  # empty: the default
    limits = {view: hub.settings.get(f"rate_limits.{name}") for name, views in RATE_LIMITED.items()
              for view in views}
    for endpoint, view in list(app.view_functions.items()):
        if view in limits:
            # Flask types a view as sync or async; flask-limiter's decorator then answers the async overload.
            app.view_functions[endpoint] = limiter.limit(limits[view])(view)  # type: ignore[assignment]
    log_requests(app)
    return app
