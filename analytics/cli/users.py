"""``python -m analytics.cli.users add|remove|passwd|list``: manage the dashboard's users file.

The file is YAML with bcrypt hashes (layout in :mod:`analytics.auth.credentials`). By default it
is ``$AUTH_CREDENTIALS_FILE`` or ``<data dir>/credentials.yaml`` — the file the local backend
reads, found through the same settings. For the aws backend the users travel in Secrets Manager
as the ``AUTH_CREDENTIALS_YAML`` value; ``--env`` edits that text instead and prints the new
YAML on stdout, ready for ``aws secretsmanager put-secret-value``.

Passwords are never arguments (they would sit in the shell history and in ``ps``): they are
prompted for, read from stdin with ``--password-stdin``, or generated with ``--generate`` and
printed once on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from analytics.auth.config import default_credentials_path
from analytics.auth.credentials import (
    ALL_APPS,
    Credentials,
    CredentialsError,
    User,
    check_password_strength,
    hash_password,
    load_file,
    parse_apps,
    parse_yaml,
    random_password,
    save_file,
    validate_username,
)
from analytics.core.catalog import CatalogError, load_catalog
from analytics.core.settings import Settings, SettingsError, load_settings

ENV_YAML = "AUTH_CREDENTIALS_YAML"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analytics.cli.users",
                                description="Manage the dashboard's users (bcrypt hashes).")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--file", type=Path, help="users file (default: $AUTH_CREDENTIALS_FILE or "
                     "<data dir>/credentials.yaml)")
    src.add_argument("--env", action="store_true", help=f"edit ${ENV_YAML} and print the new "
                     "YAML on stdout (for Secrets Manager)")
    sub = p.add_subparsers(dest="command", required=True)

    def password_opts(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin")
        g.add_argument("--generate", action="store_true",
                       help="generate a random password and print it once on stderr")

    add = sub.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", choices=("admin", "viewer"), default="viewer")
    add.add_argument("--apps", help='comma-separated app ids, or "*" for every app '
                     "(required for viewers; admins default to *)")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--email", default="")
    password_opts(add)
    pw = sub.add_parser("passwd", help="set a user's password")
    pw.add_argument("username")
    password_opts(pw)
    rm = sub.add_parser("remove", help="remove a user")
    rm.add_argument("username")
    rm.add_argument("--force", action="store_true", help="allow removing the last admin")
    sub.add_parser("list", help="list users (never the hashes)")
    return p


def _read_password(args: argparse.Namespace, stdin: TextIO, stderr: TextIO, *, role: str,
                   context: tuple[str, ...] = ()) -> str:
    if args.generate:
        password = random_password()
        stderr.write(f"Generated password for {args.username} (shown once): {password}\n")
        return password
    if args.password_stdin:
        password = stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise CredentialsError("the two passwords differ")
    check_password_strength(password, username=args.username, role=role, context=context)
    return password


def _apps(raw: str | None, role: str, catalog: Path) -> tuple[str, ...] | None:
    if raw is None:
        if role == "admin":
            return None
        raise CredentialsError('viewers need --apps (comma-separated app ids, or "*")')
    apps = parse_apps(raw, "--apps")
    if apps is None:
        return None
    if not apps:
        raise CredentialsError('--apps is empty: give app ids or "*"')
    try:
        known = load_catalog(catalog).ids()
    except CatalogError as exc:
        raise CredentialsError(f"cannot check --apps against the catalog: {exc}") from exc
    unknown = [a for a in apps if a not in known]
    if unknown:
        raise CredentialsError(f"unknown app {unknown[0]!r}: apps.toml has {', '.join(known)}")
    return apps


def _run(args: argparse.Namespace, creds: Credentials, settings: Settings,
         stdin: TextIO, stdout: TextIO, stderr: TextIO) -> Credentials | None:
    """Apply the command; returns the credentials to save (None: nothing changed)."""
    if args.command == "list":
        rows = [("username", "role", "apps", "name", "email")]
        rows += [(u.username, u.role, ALL_APPS if u.apps is None else ",".join(u.apps) or "-",
                  u.name, u.email or "-") for u in sorted(creds.users.values(),
                                                          key=lambda u: u.username)]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            line = "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
            stdout.write(line.rstrip() + "\n")
        return None
    name = validate_username(args.username)
    user = creds.get(name)
    if args.command == "add":
        if user is not None:
            raise CredentialsError(f"user {name!r} exists; use `passwd` to change the password")
        apps = _apps(args.apps, args.role, settings.catalog_path)
        password = _read_password(args, stdin, stderr, role=args.role,
                                  context=(args.name or "", args.email or ""))
        new = User(name, hash_password(password), args.name or name, args.email, args.role, apps)
        stderr.write(f"added {name} ({args.role}, apps: "
                     f"{ALL_APPS if apps is None else ','.join(apps)})\n")
        return creds.with_user(new)
    if user is None:
        raise CredentialsError(f"no user {name!r} in {creds.source}")
    if args.command == "passwd":
        password = _read_password(args, stdin, stderr, role=user.role,
                                  context=(user.name, user.email))
        stderr.write(f"password changed for {name}\n")
        return creds.with_user(User(name, hash_password(password), user.name, user.email,
                                    user.role, user.apps))
    admins = [u for u in creds.users.values() if u.role == "admin"]
    if user.role == "admin" and len(admins) == 1 and not args.force:
        raise CredentialsError(f"{name!r} is the last admin; add another first or pass --force")
    stderr.write(f"removed {name}\n")
    return creds.without(name)


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None,
         stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run one command; ``settings`` default to :func:`load_settings` (the environment)."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        if settings is None:
            settings = load_settings()
        if args.env:
            text = settings.auth.credentials_yaml
            creds = parse_yaml(text.get_secret_value() if text else "", ENV_YAML)
        else:
            path = args.file or default_credentials_path(settings.data_dir, settings.auth)
            creds = load_file(path) if path.is_file() else Credentials({}, str(path))
        changed = _run(args, creds, settings, stdin, stdout, stderr)
    except (CredentialsError, SettingsError) as exc:
        stderr.write(f"error: {exc}\n")
        return 1
    if changed is not None:
        if args.env:
            stdout.write(changed.dump())
        else:
            save_file(changed, path)
            stderr.write(f"saved {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
