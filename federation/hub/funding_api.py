"""The hub's funding-calls API: thin views over :class:`~federation.hub.funding.FundingCalls`.

Calls are public: anyone lists them. The operator imports a file with the ``calls:write`` scope (its body bounded by
``funding.max_bytes``, checked before the token and before anything is read). Eligibility reads a meta-cluster for
the caller's audience (an anonymous reader's consortium and candidates are public members only); a pilot's needs
``federation:read``, as pilots do.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from ..token_guard import require
from ..web import Blueprint, body_limit
from .api import LIST_PAGE, OPTIONAL_READER, actor, federation_reader, hub, paged, window
from .funding_schemas import CallQuerySchema, CallSchema, EligibilitySchema, EligibleQuerySchema, ImportReportSchema

calls_bp = Blueprint("calls", __name__, url_prefix="/api/v1/calls",
                     description="Funding calls, and which ones a meta-cluster or a pilot may apply to")


@calls_bp.route("")
class Calls(MethodView):
    @calls_bp.arguments(CallQuerySchema, location="query")
    @calls_bp.response(200, CallSchema(many=True))
    @calls_bp.paginate(**LIST_PAGE)
    def get(self, query, pagination_parameters):
        """Funding calls by deadline: the open ones (deadline today or later), or every one with all=true
        (paginated)"""
        return paged(pagination_parameters, hub().funding.page(query["all"], *window(pagination_parameters)))

    @calls_bp.response(200, ImportReportSchema)
    @calls_bp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}},
                                           "application/json": {"schema": {"type": "array",
                                                                           "items": {"type": "object"}}}}},
                  responses={"400": "BAD_REQUEST", "413": "REQUEST_ENTITY_TOO_LARGE",
                             "422": "UNPROCESSABLE_ENTITY"})
    @require("calls:write")
    @body_limit("funding.max_bytes")
    def post(self):
        """Import a calls file, CSV or JSON (the body): every call valid or nothing stored, each error with its line
        (or item) and field; calls are upserted by id"""
        return hub().funding.import_file(request.get_data(parse_form_data=False), actor())


@calls_bp.route("/eligible")
class Eligible(MethodView):
    @calls_bp.arguments(EligibleQuerySchema, location="query")
    @calls_bp.response(200, EligibilitySchema)
    @calls_bp.doc(security=OPTIONAL_READER)
    def get(self, query):
        """The open calls a meta-cluster (metacluster=) or a pilot (pilot=, federation readers) may apply to, and for
        the others what is missing, each gap with the members and knowledge entities that could fill it"""
        if "pilot" in query:
            return _pilot_eligibility(query["pilot"])
        return hub().funding.eligible(query["metacluster"], None, federation_reader())


@require("federation:read")
def _pilot_eligibility(pilot_id: str):
    return hub().funding.eligible(None, pilot_id, True)


@calls_bp.route("/<call_id>")
class Call(MethodView):
    @calls_bp.response(200, CallSchema)
    def get(self, call_id):
        """One funding call"""
        return hub().funding.get(call_id)
