"""The API's errors: a stable code and a message a caller can act on, never a stack trace.

Every failure a resolver can meet is turned into :class:`ApiError` here, once, so the local
server (``extensions.code``) and AppSync (``errorType``) report the same code for the same
mistake. What a reader would get wrong: an unknown application and one the caller may not see
are different codes only for callers who may see every application (the access rule).
"""

from __future__ import annotations

from enum import StrEnum

from analytics.core.access import AccessDenied
from analytics.core.cache import StillLoading, UpstreamError
from analytics.core.periods import PeriodError


class Code(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    UNKNOWN_APPLICATION = "UNKNOWN_APPLICATION"
    UNKNOWN_METRIC = "UNKNOWN_METRIC"
    BAD_ARGUMENT = "BAD_ARGUMENT"
    BAD_RANGE = "BAD_RANGE"
    RANGE_TOO_OLD = "RANGE_TOO_OLD"
    BAD_GRANULARITY = "BAD_GRANULARITY"
    BAD_STATISTIC = "BAD_STATISTIC"
    TOO_MANY_POINTS = "TOO_MANY_POINTS"
    RESULT_TOO_LARGE = "RESULT_TOO_LARGE"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    WRITE_REFUSED = "WRITE_REFUSED"
    NOT_WRITTEN = "NOT_WRITTEN"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    STILL_LOADING = "STILL_LOADING"
    INTERNAL = "INTERNAL"


class ApiError(Exception):
    """A refused request: ``code`` for programs, ``message`` for people."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def as_api_error(exc: BaseException) -> ApiError:
    """The API's reading of any exception a service raised (unknown ones are INTERNAL)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, AccessDenied):
        return ApiError(Code.FORBIDDEN, str(exc))
    if isinstance(exc, StillLoading):
        return ApiError(Code.STILL_LOADING, "the data is still loading upstream; retry shortly")
    if isinstance(exc, UpstreamError):
        return ApiError(Code.UPSTREAM_UNAVAILABLE, str(exc))
    if isinstance(exc, PeriodError):
        text = str(exc)
        code = Code.RANGE_TOO_OLD if "older than" in text else Code.BAD_RANGE
        return ApiError(code, text)
    if isinstance(exc, ValueError):
        text = str(exc)
        if text.startswith("unknown application"):
            return ApiError(Code.UNKNOWN_APPLICATION, text)
        if text.startswith("unsupported statistic"):
            return ApiError(Code.BAD_STATISTIC, text)
        if text.startswith("invalid metric name"):
            return ApiError(Code.UNKNOWN_METRIC, text)
        return ApiError(Code.BAD_ARGUMENT, text)
    return ApiError(Code.INTERNAL, "internal error")
