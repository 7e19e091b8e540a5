"""The abuse desk's admin: reporters and their tokens, reports (filed, redacted), decisions, revocations."""

from abuse.admin import decisions, reports

__all__ = ["decisions", "reports"]
