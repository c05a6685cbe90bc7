"""The users file: usernames, display names, roles, allowed apps and bcrypt hashes.

One YAML layout everywhere (a file, the ``AUTH_CREDENTIALS_YAML`` variable that ECS fills from
Secrets Manager, or a ``[credentials]`` table in secrets.toml)::

    usernames:
      alice:
        name: Alice Martin
        email: alice@example.com
        password: $2b$12$...          # bcrypt hash, never a plain password
        roles: [admin]
        apps: ["*"]                    # "*" = every app of apps.toml
      bob:
        name: Bob
        password: $2b$12$...
        roles: [viewer]
        apps: [jobseek]

It is the layout streamlit-authenticator expects (``to_authenticator_dict`` hands it a deep copy,
so the library can never write back). Plain-text passwords are rejected rather than hashed on the
fly: a secret that reached the config in clear has leaked already, and hashing at every start
would hide that.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import bcrypt
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from analytics.core.access import ROLES
from analytics.core.validation import Problem, first_problem

ALL_APPS = "*"
BCRYPT_ROUNDS = 12
#: bcrypt only reads the first 72 bytes; bcrypt 5 refuses longer input outright.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_CHARS = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,63}$")
_BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")


class CredentialsError(ValueError):
    """The credentials are malformed; the message names the user and the field."""


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    name: str = ""
    email: str = ""
    role: str = "viewer"
    apps: tuple[str, ...] | None = ()  # None: every app

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name or self.username}
        if self.email:
            out["email"] = self.email
        out["password"] = self.password_hash
        out["roles"] = [self.role]
        out["apps"] = [ALL_APPS] if self.apps is None else list(self.apps)
        return out


@dataclass(frozen=True)
class Credentials:
    users: dict[str, User] = field(default_factory=dict)
    source: str = "(none)"

    def get(self, username: str) -> User | None:
        return self.users.get(normalize_username(username))

    def with_user(self, user: User) -> Credentials:
        return replace(self, users={**self.users, user.username: user})

    def without(self, username: str) -> Credentials:
        name = normalize_username(username)
        if name not in self.users:
            raise CredentialsError(f"no user {name!r} in {self.source}")
        return replace(self, users={k: v for k, v in self.users.items() if k != name})

    def to_yaml_dict(self) -> dict[str, Any]:
        return {"usernames": {k: u.to_dict() for k, u in sorted(self.users.items())}}

    def to_authenticator_dict(self) -> dict[str, Any]:
        """A deep copy in streamlit-authenticator's layout (it mutates what it is given)."""
        return copy.deepcopy(self.to_yaml_dict())

    def dump(self) -> str:
        header = ("# Central Analytics users: bcrypt hashes only. Manage with\n"
                  "#   python -m analytics.cli.users add|remove|passwd|list\n")
        return header + yaml.safe_dump(self.to_yaml_dict(), sort_keys=False)


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive (as in streamlit-authenticator): stored lower-cased."""
    return username.strip().lower()


def validate_username(username: str) -> str:
    name = normalize_username(username)
    if not _USERNAME.match(name):
        raise CredentialsError(
            f"username {username!r}: use 1-64 characters a-z 0-9 . _ @ + - (starting with a "
            "letter or digit)")
    return name


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """bcrypt hash of ``password``; refuses passwords bcrypt would silently truncate."""
    raw = password.encode("utf-8")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise CredentialsError(f"password longer than {MAX_PASSWORD_BYTES} bytes (bcrypt limit)")
    if not password:
        raise CredentialsError("empty password")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds)).decode("ascii")


#: zxcvbn score a password must reach (0-4): admins see every app and the account's spend.
MIN_SCORE = {"viewer": 3, "admin": 4}


def check_password_strength(password: str, *, username: str = "", role: str = "admin",
                            context: tuple[str, ...] = ()) -> None:
    """The CLI's rule for passwords people choose; the error says why one was refused.

    12+ characters, 5+ distinct, not containing the username, and a zxcvbn score of at least
    3 (viewers) or 4 (admins): ``password1234`` or ``adminpassword`` are long enough and still
    among the first guesses of any cracking list. ``context`` adds words that make a password
    guessable here (the display name, the e-mail, the product's name).
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise CredentialsError(f"password shorter than {MIN_PASSWORD_CHARS} characters")
    if len(set(password)) < 5:
        raise CredentialsError("password uses fewer than 5 distinct characters")
    name = normalize_username(username)
    if name and len(name) >= 3 and name in password.lower():
        raise CredentialsError(f"password contains the username {name!r}")
    from zxcvbn import zxcvbn  # imported here: ~0.3 s of dictionaries the dashboard never needs

    words = [w for w in (name, *context, "central", "analytics", "dashboard") if w]
    result = zxcvbn(password[:MAX_PASSWORD_BYTES], user_inputs=words)
    need = MIN_SCORE.get(role, MIN_SCORE["admin"])
    if result["score"] < need:
        feedback = result.get("feedback") or {}
        why = " ".join(x for x in (feedback.get("warning") or "", *(feedback.get(
            "suggestions") or [])) if x) or "it is too easy to guess"
        raise CredentialsError(f"password too guessable for a {role} (strength "
                               f"{result['score']} of 4, needs {need}): {why}")


@functools.cache
def _dummy_hash() -> bytes:
    """Compared against when the username is unknown, so a miss costs as much as a hit."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(BCRYPT_ROUNDS))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-work check: an unknown user (None) still pays one bcrypt comparison."""
    raw = password.encode("utf-8")
    target = password_hash.encode("ascii") if password_hash else _dummy_hash()
    if len(raw) > MAX_PASSWORD_BYTES or not raw:
        bcrypt.checkpw(b"x", _dummy_hash())
        return False
    try:
        ok = bcrypt.checkpw(raw, target)
    except ValueError:
        return False
    return ok and password_hash is not None


def random_password() -> str:
    """A generated password (~190 bits) for first runs and ``users add --generate``."""
    return secrets.token_urlsafe(24)


def _apps(raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [p.strip() for p in raw.split(",") if p.strip()]
    if not isinstance(raw, list | tuple) or not all(isinstance(a, str) for a in raw):
        raise ValueError("'apps' must be a list of app ids or \"*\"")
    if ALL_APPS in raw:
        return None
    return tuple(dict.fromkeys(a.strip() for a in raw if a.strip()))


def parse_apps(raw: Any, where: str) -> tuple[str, ...] | None:
    """``["*"]`` / ``"*"`` -> None (every app); a list of ids -> tuple; anything else errors."""
    try:
        return _apps(raw)
    except ValueError as exc:
        raise CredentialsError(f"{where}: {exc}") from None


def _role(raw: Any) -> str:
    roles = [raw] if isinstance(raw, str) else raw
    if roles is None:
        return "viewer"
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        raise ValueError("'roles' must be a list such as [viewer]")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}, expected one of {ROLES}")
    return "admin" if "admin" in roles else "viewer"


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw)


class _Entry(BaseModel):
    """One user in the file's layout; the aliases are the file's keys.

    Unknown keys are ignored: streamlit-authenticator keeps its own (``failed_login_attempts``,
    ``logged_in``) next to ours. Validated with ``context={"username": ...}`` for the hint.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True)

    password_hash: str = Field(default="", validation_alias="password")
    name: Annotated[str, BeforeValidator(_text)] = ""
    email: Annotated[str, BeforeValidator(_text)] = ""
    role: Annotated[str, BeforeValidator(_role)] = Field("viewer", validation_alias="roles")
    apps: Annotated[tuple[str, ...] | None, BeforeValidator(_apps)] = ()

    @field_validator("password_hash", mode="before")
    @classmethod
    def _bcrypt_only(cls, value: Any, info: ValidationInfo) -> str:
        if not isinstance(value, str) or not _BCRYPT.match(value):
            user = (info.context or {}).get("username", "<name>")
            raise ValueError("'password' must be a bcrypt hash ($2b$...); set one with "
                             f"`python -m analytics.cli.users passwd {user}`")
        return value

    @model_validator(mode="after")
    def _admins_see_every_app_by_default(self) -> _Entry:
        if "apps" not in self.model_fields_set and self.role == "admin":
            self.apps = None
        return self


class _UsersFile(BaseModel):
    """The top level; other keys (streamlit-authenticator's ``cookie`` …) are ignored."""

    usernames: dict[Any, Any] = Field(default_factory=dict)


def parse_credentials(data: Any, source: str) -> Credentials:
    """Validate the mapping (``{usernames: {...}}``, optionally under ``credentials:``)."""
    if isinstance(data, Mapping) and "credentials" in data and "usernames" not in data:
        data = data["credentials"]
    try:
        users_file = _UsersFile.model_validate(dict(data) if isinstance(data, Mapping) else data)
    except ValidationError:
        raise CredentialsError(f"{source}: expected a mapping with a 'usernames' table") from None
    users: dict[str, User] = {}
    for raw_name, raw_entry in users_file.usernames.items():
        where = f"{source}: user {raw_name!r}"
        name = validate_username(str(raw_name))
        if name in users:
            raise CredentialsError(f"{where}: listed twice (usernames are case-insensitive)")
        try:
            entry = _Entry.model_validate(
                dict(raw_entry) if isinstance(raw_entry, Mapping) else raw_entry,
                context={"username": name})
        except ValidationError as exc:
            raise CredentialsError(f"{where}: {_without_value(first_problem(exc))}") from None
        users[name] = User(name, entry.password_hash, entry.name or name, entry.email,
                           entry.role, entry.apps)
    return Credentials(users, source)


def _without_value(problem: Problem) -> str:
    """The message without the offending value: in this file it may be a hash or a password."""
    return re.sub(r", got .*\Z", "", problem.message, flags=re.S)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what, never the line itself (PyYAML's message quotes the line with a caret)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"not valid YAML{where}: {exc.problem or exc.context or 'syntax error'}"
    return "not valid YAML"


def parse_yaml(text: str, source: str) -> Credentials:
    try:
        data = yaml.safe_load(text) or {"usernames": {}}
    except yaml.YAMLError as exc:
        raise CredentialsError(f"{source}: {_yaml_problem(exc)}") from None
    return parse_credentials(data, source)


def load_file(path: Path) -> Credentials:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read the credentials file: {exc}") from exc
    return parse_yaml(text, str(path))


def save_file(creds: Credentials, path: Path) -> None:
    """Write atomically with mode 0600: a crash never leaves half a file, others cannot read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(creds.dump())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def unknown_apps(creds: Credentials, known: Iterable[str]) -> dict[str, list[str]]:
    """Per user, the app ids not in the catalog (they match nothing: worth a warning)."""
    ids = set(known)
    out = {}
    for u in creds.users.values():
        bad = [a for a in (u.apps or ()) if a not in ids]
        if bad:
            out[u.username] = bad
    return out
