"""The profile document a node publishes: its marshmallow schemas (the single source of truth), the reader that
refuses unknown versions, and the JSON Schema derived from the schemas."""

from .reader import SUPPORTED_VERSIONS, read_profile, validate_codes
from .schema import CURRENT_VERSION, PROFILE_SCHEMA_ID, ProfileSchema

__all__ = ["CURRENT_VERSION", "PROFILE_SCHEMA_ID", "SUPPORTED_VERSIONS", "ProfileSchema", "read_profile",
           "validate_codes"]
