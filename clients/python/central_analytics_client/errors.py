"""The SDK's errors: one for refused or failed GraphQL operations, one for ingestion."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The API refused an operation. ``code`` is stable (``BAD_RANGE``, ``FORBIDDEN``, ...):
    ``extensions.code`` on the local server, ``errorType`` on AppSync."""

    def __init__(self, code: str, message: str, *, path: list[Any] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.path = path or []
        self.errors = errors or []


class IngestError(Exception):
    """The ingest endpoint refused metrics, or kept failing until the retries ran out.

    ``errors`` is the server's list (``{"index", "field", "message"}``, index relative to the
    batch sent); ``unsent`` the metrics never acknowledged; ``accepted`` how many were stored
    before giving up (earlier batches included).
    """

    def __init__(self, message: str, *, status: int | None = None,
                 errors: list[dict[str, Any]] | None = None,
                 unsent: list[dict[str, Any]] | None = None, accepted: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []
        self.unsent = unsent or []
        self.accepted = accepted


def first_error(errors: list[dict[str, Any]]) -> ApiError:
    """The :class:`ApiError` of a GraphQL ``errors`` list (local and AppSync forms)."""
    first = errors[0] if errors else {}
    code = (first.get("extensions") or {}).get("code") or first.get("errorType") or "ERROR"
    return ApiError(str(code), str(first.get("message", "unknown error")),
                    path=first.get("path"), errors=errors)
