"""The cluster manager's member services over HTTP: who needs a nudge, one-time self-service links (made by the
admin, used by the member with the token alone), and announcements. Thin views over
:class:`~federation.node.activity.MemberActivity`, :class:`~federation.node.self_service.SelfService` and
:class:`~federation.node.announcements.Announcements`."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask.views import MethodView

from ..token_guard import current_principal, require
from ..web import Blueprint, body_limit
from .member_schemas import (
    ActivityReportSchema,
    AnnouncementRequestSchema,
    AnnouncementSchema,
    AnnouncementSummarySchema,
    LinkListItemSchema,
    LinkRequestSchema,
    LinkSchema,
    SelfServiceRecordSchema,
    SelfServiceResultSchema,
    SelfServiceUpdateSchema,
)

activity_bp = Blueprint("member-services", __name__, url_prefix="/api/v1/members",
                        description="Members' activity, and one-time links for a member to update its own record")
self_service_bp = Blueprint("self-service", __name__, url_prefix="/api/v1/self-service",
                            description="A member reads and updates its own record with a one-time link (no token: "
                                        "the link is the credential)")
announcements_bp = Blueprint("announcements", __name__, url_prefix="/api/v1/announcements",
                             description="Announcements from the cluster to its members, with each one's delivery")

LINK_ERRORS = {"403": "FORBIDDEN", "404": "NOT_FOUND", "409": "CONFLICT", "410": "GONE", "429": "TOO_MANY_REQUESTS"}


def node():
    return current_app.extensions["medmci"]


def admin() -> str:
    """The actor the audit log names for the node admin's token."""
    return f"admin:{current_principal().name}"


@activity_bp.route("/activity", methods=["GET"])
@activity_bp.response(200, ActivityReportSchema)
@require("members:write")
def member_activity():
    """The members that need a nudge, worst first, each with why: dormant (marked so, or no activity for
    members.activity.dormant_after_days), quiet, no activity recorded, a record not checked for long, no contact
    e-mail"""
    return node().activity.nudges()


@activity_bp.route("/<member_id>/links")
class MemberLinks(MethodView):
    @activity_bp.response(200, LinkListItemSchema(many=True))
    @require("members:write")
    def get(self, member_id):
        """The self-service links made for a member, newest first (never their tokens)"""
        return node().self_service.links(member_id)

    @activity_bp.arguments(LinkRequestSchema)
    @activity_bp.response(201, LinkSchema)
    @activity_bp.doc(responses={"404": "NOT_FOUND", "409": "CONFLICT"})
    @require("members:write")
    def post(self, data, member_id):
        """Make a one-time link for the member to check and update its own record (and e-mail it with send): the
        token is in this answer only"""
        days = data.get("expires_in_days")
        return node().self_service.create_link(member_id, None if days is None else timedelta(days=days),
                                               data["send"], admin())


@self_service_bp.route("/<token>", methods=["GET"])
@self_service_bp.response(200, SelfServiceRecordSchema)
@self_service_bp.doc(responses=LINK_ERRORS, security=[{}])
def read_link(token):
    """The member's own record, with what it may change (the link stays unused): 403 for a link that was
    changed, 409 once used, 410 once expired"""
    return node().self_service.read(token)


@self_service_bp.route("/<token>", methods=["PUT"])
@self_service_bp.arguments(SelfServiceUpdateSchema(partial=True))
@self_service_bp.response(200, SelfServiceResultSchema)
@self_service_bp.doc(responses={**LINK_ERRORS, "413": "REQUEST_ENTITY_TOO_LARGE"}, security=[{}])
@body_limit("members.self_service.max_body_bytes")
def use_link(data, token):
    """Update the member's own record (only the fields given; last_active becomes today unless given) and use up
    the link: an invalid body changes nothing and leaves the link unused; a second use is refused (409)"""
    return node().self_service.update(token, data)


@announcements_bp.route("")
class AnnouncementsResource(MethodView):
    @announcements_bp.response(200, AnnouncementSummarySchema(many=True))
    @require("members:write")
    def get(self):
        """The newest announcements (at most mail.max_listed), each with its delivery counts"""
        return node().announcements.list()

    @announcements_bp.arguments(AnnouncementRequestSchema)
    @announcements_bp.response(201, AnnouncementSchema)
    @announcements_bp.doc(responses={"404": "NOT_FOUND", "409": "CONFLICT"})
    @require("members:write")
    def post(self, data):
        """Record an announcement to a value chain's or a sub-cluster's members (or every member), and send it
        with send: each recipient's delivery is recorded (no_address for a member without a contact e-mail)"""
        return node().announcements.create(data["title"], data["body"], data.get("chain"), data.get("subcluster"),
                                           send=data["send"], actor=admin(), dry_run=data["dry_run"])


@announcements_bp.route("/<int:announcement_id>", methods=["GET"])
@announcements_bp.response(200, AnnouncementSchema)
@require("members:write")
def announcement(announcement_id):
    """One announcement with every recipient's delivery"""
    return node().announcements.get(announcement_id)


@announcements_bp.route("/<int:announcement_id>/send", methods=["POST"])
@announcements_bp.response(200, AnnouncementSchema)
@announcements_bp.doc(responses={"404": "NOT_FOUND"})
@require("members:write")
def send_announcement(announcement_id):
    """Send a recorded announcement to the recipients not sent to yet (and again to those whose delivery failed)"""
    return node().announcements.send(announcement_id)


#: The views under the rate limit ``rate_limits.self_service`` (a stranger may call them with guessed links).
RATE_LIMITED = (read_link, use_link)
