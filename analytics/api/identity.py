"""Who is calling: a credential becomes the dashboard's :class:`Principal`, or nobody.

The API never runs a resolver without a principal (none would mean a trusted process, which
sees everything). Locally the bearer token decides: the operator's token reads every app as an
admin, an app's own ingest token reads that app. On AppSync the identity AppSync hands the
Lambda decides: an IAM caller named for an app (the catalog's ``ingest_principals``) reads that
app, the configured admin principals read everything, and a Cognito user's groups map to a role
and apps. An identity matching nothing sees nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analytics.api.errors import ApiError, Code
from analytics.core.access import Principal
from ingest.guard import arn_matches

EVERY_APP = frozenset({"*"})


def principal_for_apps(name: str, apps: frozenset[str] | None) -> Principal:
    """A credential's principal: every app (``*``) is an admin, else a viewer of ``apps``."""
    if apps is None:
        raise ApiError(Code.UNAUTHENTICATED, "missing or invalid credentials: send "
                       "Authorization: Bearer <token>")
    if "*" in apps:
        return Principal(name, "admin", None)
    return Principal(name, "viewer", frozenset(apps))


@dataclass(frozen=True)
class GroupGrant:
    role: str
    apps: frozenset[str] | None  # None: every app


@dataclass(frozen=True)
class AppSyncAccess:
    """The rules turning an AppSync identity into a principal (from the stack's settings)."""

    app_principals: Mapping[str, tuple[str, ...]]
    admin_principals: tuple[str, ...] = ()
    groups: Mapping[str, GroupGrant] | None = None

    def principal(self, identity: Mapping[str, Any] | None) -> Principal:
        if not identity:
            raise ApiError(Code.UNAUTHENTICATED, "no caller identity")
        arn = identity.get("userArn")
        if isinstance(arn, str) and arn:
            if any(arn_matches(arn, p) for p in self.admin_principals):
                return Principal(arn, "admin", None)
            apps = frozenset(a for a, pats in self.app_principals.items()
                             if any(arn_matches(arn, p) for p in pats))
            return Principal(arn, "viewer", apps)
        claims = identity.get("claims")
        if isinstance(claims, Mapping) or identity.get("sub"):
            return self._user(identity)
        raise ApiError(Code.UNAUTHENTICATED, "unrecognised caller identity")

    def _user(self, identity: Mapping[str, Any]) -> Principal:
        name = str(identity.get("username") or identity.get("sub") or "user")
        raw = identity.get("groups") or []
        groups: Iterable[str] = raw if isinstance(raw, list) else []
        grants = [g for name_ in groups if (g := (self.groups or {}).get(str(name_)))]
        role = "admin" if any(g.role == "admin" for g in grants) else "viewer"
        if any(g.apps is None for g in grants):
            return Principal(name, role, None)
        apps: set[str] = set()
        for g in grants:
            apps |= set(g.apps or ())
        return Principal(name, role, frozenset(apps))
