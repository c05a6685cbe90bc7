"""``python -m analytics.ui.serve`` (what ``make run`` runs): the runtime first, then Streamlit.

Why not plain ``streamlit run``: Streamlit builds nothing until the first browser visit, and the
local ingest endpoint lives in the runtime (DuckDB allows one writer process, so it must share the
dashboard's process). Building the runtime eagerly here means the endpoint, the simulator and the
business-metric feeder are up from process start, and the addresses and token can be printed
before Streamlit's own banner. Streamlit then runs in this same process through its bootstrap
(the same calls ``streamlit run`` makes), so every session reuses this runtime.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import sys
from collections.abc import Sequence

from analytics.core.settings import ROOT
from analytics.sources import Runtime
from analytics.ui.secrets_file import write_secrets_from_env

MAIN_SCRIPT = ROOT / "Home.py"
#: A laptop's dashboard is for its owner: other machines must ask for it with --address.
LOCAL_ONLY = "127.0.0.1"


def banner(rt: Runtime, port: int) -> str:
    """The start-up lines: dashboard URL, backend, ingest endpoint. Tokens are printed only
    when made (by the endpoint, just before), never on every start."""
    from analytics.local.ingest_tokens import FILE_NAME
    from analytics.local.live_services import ingest_server

    lines = [f"Central Analytics dashboard: http://localhost:{port}",
             f"Backend: {rt.sources.description}"]
    server = ingest_server(rt)
    if server is None:
        if getattr(rt, "local", None) is not None:
            lines.append("Local ingest endpoint: not running (INGEST_ENABLED=false or the port "
                         "is taken; see the log above)")
        return "\n".join(lines)
    lines += [
        f"Local ingest endpoint: POST {server.url}  (health: GET {server.base_url}/health)",
        f"Read API: {server.graphql_url}  (GraphQL, POST and WebSocket; docs/api.md)",
        f"Ingest tokens: one per app, shown once when made (hashes in "
        f"{rt.settings.data_dir / FILE_NAME}); a new one: "
        "python -m analytics.cli.tokens rotate <app>",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m analytics.ui.serve",
                                     description="Start the runtime, then the dashboard.")
    parser.add_argument("--port", type=int, default=None,
                        help="port of the dashboard (default: DASHBOARD_PORT, else 8501)")
    parser.add_argument("--address", default=LOCAL_ONLY,
                        help=f"interface the dashboard listens on (default: {LOCAL_ONLY}, this "
                             "machine only; 0.0.0.0 for every interface)")
    args = parser.parse_args(argv)
    write_secrets_from_env()
    # Start-up lines of our own modules (history fill, endpoint address, feeder problems);
    # not the root logger, whose other users (the audit log) print for themselves.
    ours = logging.getLogger("analytics")
    if not ours.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)

    from analytics.core.catalog import CatalogError
    from analytics.core.settings import SettingsError
    from analytics.local.store import StoreError
    from analytics.sources import get_runtime

    try:
        rt = get_runtime()
    except (CatalogError, SettingsError) as exc:
        print(f"Configuration error — {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except StoreError as exc:
        print(f"Store error — {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    atexit.register(rt.stop)
    port = rt.settings.dashboard_port if args.port is None else args.port
    if rt.local is not None:
        from analytics.local.ingest_server import quiet_lambda_logs
        from analytics.local.warmup import start_warm_up

        start_warm_up(rt)  # the first view's alarm evaluation and metrics, in the background

        # One JSON line per accepted request is too chatty for a terminal; INGEST_LOG_LEVEL=INFO
        # brings them back.
        quiet_lambda_logs(rt.settings.ingest_log_level)
    # Load sign-in settings now, so a first local run prints its generated admin password here,
    # at start-up, instead of at the first page load; a bad setting is shown on the page too.
    from analytics.auth.config import AuthConfigError, load_auth_config

    try:
        load_auth_config(
            rt.settings.backend,
            data_dir=rt.settings.data_dir,
            secrets_=rt.settings.secrets,
            auth=rt.settings.auth,
        )
    except AuthConfigError as exc:
        print(f"Sign-in is not configured safely — {exc}", file=sys.stderr)
    print(banner(rt, port), flush=True)

    from streamlit import config as st_config
    from streamlit.web import bootstrap

    flags: dict[str, object] = {"server_port": port, "server_address": args.address}
    # What `streamlit run` does before bootstrap.run: remember the main script (config and
    # secrets are looked up next to it) and load config.toml overlaid with the flags.
    st_config._main_script_path = str(MAIN_SCRIPT)
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(MAIN_SCRIPT), False, [], flags)


if __name__ == "__main__":
    main()
