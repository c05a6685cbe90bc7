"""The re-login cookie's payload: who, which session, which version of their credentials.

The cookie is an HS256 JWT carrying ``sub`` (username), ``sid`` (a random session id, what
sign-out revokes), ``ver`` (a short hash of the user's bcrypt hash, role and apps: a password,
role or app change makes every older cookie stale) and ``iat``/``exp``. Decoding is strict and
total: anything but a well-formed, correctly signed HS256 token with every claim and an expiry
still ahead returns None, so a forged, ``alg=none``, HS512 or truncated cookie is "signed out",
never an exception in the gate. The clock is passed in (epoch seconds).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import jwt

from analytics.auth.credentials import ALL_APPS, User

ALGORITHM = "HS256"
_CLAIMS = ("sub", "sid", "ver", "iat", "exp")


@dataclass(frozen=True)
class SessionToken:
    username: str
    sid: str
    version: str
    issued_at: float
    expires_at: float


def credential_version(user: User) -> str:
    """16 hex digits that change whenever the password, the role or the apps change."""
    apps = ALL_APPS if user.apps is None else ",".join(sorted(set(user.apps)))
    text = "\0".join((user.username, user.password_hash, user.role, apps))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def new_session_id() -> str:
    """128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def issue(user: User, *, key: str, now: float, lifetime_s: float,
          sid: str | None = None) -> tuple[SessionToken, str]:
    """A new session for ``user`` and its signed cookie value."""
    token = SessionToken(user.username, sid or new_session_id(), credential_version(user),
                         float(int(now)), float(int(now + lifetime_s)))
    raw = jwt.encode({"sub": token.username, "sid": token.sid, "ver": token.version,
                      "iat": int(token.issued_at), "exp": int(token.expires_at)},
                     key, algorithm=ALGORITHM)
    return token, raw


def read(raw: object, *, key: str, now: float) -> SessionToken | None:
    """The session in ``raw``, or None for anything that is not a valid, unexpired cookie."""
    if not isinstance(raw, str) or not raw or len(raw) > 4096:
        return None
    try:
        if jwt.get_unverified_header(raw).get("alg") != ALGORITHM:
            return None
        claims = jwt.decode(raw, key, algorithms=[ALGORITHM],
                            options={"require": list(_CLAIMS), "verify_exp": False,
                                     "verify_iat": False})
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
    sub, sid, ver = claims.get("sub"), claims.get("sid"), claims.get("ver")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not all(isinstance(v, str) and v for v in (sub, sid, ver)):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp)):
        return None
    assert isinstance(sub, str) and isinstance(sid, str) and isinstance(ver, str)
    assert isinstance(iat, int | float) and isinstance(exp, int | float)
    if exp <= now:
        return None
    return SessionToken(sub, sid, ver, float(iat), float(exp))
