"""The one error hierarchy of the federation.

Services raise these; the web layer turns them into one JSON error shape (``federation.web``) and the CLI into a
message and a non-zero exit. Each error carries its HTTP status, as Datasette's ``Base400`` does.
"""

from __future__ import annotations


class FederationError(Exception):
    """Root of every error the federation raises on purpose."""

    status = 500
    code = "error"
    #: Extra response headers (``WWW-Authenticate``) the web layer adds to the error's answer.
    headers: dict[str, str] | None = None

    def __init__(self, message: str, errors: dict | list | None = None):
        super().__init__(message)
        self.message = message
        #: Field-level details, shaped like marshmallow's ``ValidationError.messages``.
        self.errors = errors or {}


class ValidationError(FederationError):
    """Input that does not fit: a field, a code, a document, a file row."""

    status = 422
    code = "validation_error"


class BadRequest(FederationError):
    """A request that cannot be read at all (malformed JSON, wrong media type)."""

    status = 400
    code = "bad_request"


class Unauthorized(FederationError):
    """No credentials, or credentials that are not valid (unknown, revoked, malformed)."""

    status = 401
    code = "unauthorized"


class Forbidden(FederationError):
    """Valid credentials that do not allow this action (a missing scope, another node's data)."""

    status = 403
    code = "forbidden"


class SignatureError(ValidationError):
    """A signature that is missing, malformed, made with an unknown or retired key, too old, or does not match."""

    status = 401
    code = "signature_error"


class NotFound(FederationError):
    status = 404
    code = "not_found"


class Conflict(FederationError):
    """The request contradicts what is stored (a duplicate id, for instance)."""

    status = 409
    code = "conflict"


class Gone(FederationError):
    """What the request names existed and is no longer usable (an expired one-time link)."""

    status = 410
    code = "gone"


class UnsupportedVersion(ValidationError):
    """A profile document of a schema or major version this software does not read."""

    code = "unsupported_version"


class ConfigurationError(FederationError):
    """Settings, value-chain or rule files that are wrong; raised at start-up, never mid-request."""

    code = "configuration_error"


class FetchError(FederationError):
    """A node could not be fetched: down, slow, too large, not JSON, an HTTP error."""

    status = 502
    code = "fetch_error"


class TooManyRequests(FederationError):
    """A bounded resource is full for now (a node's memory of signed-request nonces): try again later."""

    status = 429
    code = "too_many_requests"


class PluginError(ConfigurationError):
    """A plugin that failed: it does not import, a hook of it raised, or what it provides is refused at load. The
    message names the plugin (its entry-point name and distribution), the hook and the cause, so the culprit can be
    found without reading a traceback."""

    code = "plugin_error"

    def __init__(self, plugin: str, distribution: str | None, hook: str, cause: str, errors: list | None = None):
        self.plugin = plugin
        self.distribution = distribution
        self.hook = hook
        self.cause = cause
        where = f"distribution {distribution}" if distribution else "not from an installed distribution"
        failed = "failed to load" if hook == "import" else f"failed in hook {hook}"
        super().__init__(f"plugin {plugin!r} ({where}) {failed}: {cause}", errors)

    def as_dict(self) -> dict:
        return {"plugin": self.plugin, "distribution": self.distribution, "hook": self.hook, "cause": self.cause}
