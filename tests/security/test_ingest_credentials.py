"""One credential per app: a jobseek token writes jobseek and nothing else.

Before, one bearer token (locally) or any signed IAM caller (on AWS) could write every app: a
single ``ActiveUsers=1e9`` for jobseek turned its cost per MAU to 0.0 for the month.
"""

from __future__ import annotations

import functools
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from analytics.local.ingest_tokens import FILE_NAME
from ingest import app as ingest_app
from ingest.events import http_api_event
from ingest.guard import iam_authorizer
from ingest.sinks import MemorySink
from tests.conftest import frozen_clock
from tests.custom.conftest import http_post
from tests.security.conftest import Endpoint, point, start_endpoint


def test_a_jobseek_token_cannot_write_ilikeyacut(endpoint: Endpoint) -> None:
    # GIVEN jobseek's own token
    token = endpoint.tokens["jobseek"]
    # WHEN it posts ilikeyacut's active users, alone and hidden in a jobseek batch
    alone = http_post(endpoint.server.url, point("ilikeyacut", "ActiveUsers", value=1e9), token)
    mixed = http_post(endpoint.server.url, {"metrics": [point("jobseek"), point(
        "ilikeyacut", "ActiveUsers", value=1e9)]}, token)
    # THEN both are 403 naming the app and the item, and nothing at all was written
    for status, body in (alone, mixed):
        assert status == 403
        assert "'ilikeyacut'" in body["errors"][0]["message"]
        assert body["errors"][0]["field"] == "applicationId"
    assert mixed[1]["errors"][0]["index"] == 1
    assert endpoint.rows("ilikeyacut") == 0 and endpoint.rows("jobseek") == 0
    # ... while its own app is accepted
    assert http_post(endpoint.server.url, point("jobseek"), token) == (202, {"accepted": 1})
    assert endpoint.rows("jobseek") == 1


def test_tokens_are_kept_as_hashes_in_a_private_file_and_rotate_at_once(
        endpoint: Endpoint) -> None:
    # GIVEN the tokens file of the data dir
    path = endpoint.book.path
    text = path.read_text()
    assert path.name == FILE_NAME and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all(token not in text for token in endpoint.tokens.values())  # only hashes
    old = endpoint.tokens["jobseek"]
    # WHEN the operator rotates jobseek's token (the CLI does this), the server still running
    new = endpoint.book.rotate("jobseek")
    # THEN the old token is 401 at the next request and the new one writes jobseek
    assert http_post(endpoint.server.url, point("jobseek"), old)[0] == 401
    assert http_post(endpoint.server.url, point("jobseek"), new)[0] == 202
    assert http_post(endpoint.server.url, point("ilikeyacut"), new)[0] == 403


def test_tokens_are_printed_when_made_and_never_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.core.catalog import load_catalog
    from analytics.core.settings import load_settings
    from analytics.local.custom_sink import DuckDBSink
    from analytics.local.ingest_server import start_ingest_server
    from analytics.local.store import LocalStore
    from tests.conftest import ROOT, local_env

    settings = load_settings(local_env(tmp_path, INGEST_PORT="0"), secrets={})
    catalog = load_catalog(ROOT / "apps.toml")
    store = LocalStore(tmp_path / "s.duckdb")
    outputs = []
    try:
        for _ in range(2):  # two starts of the same install
            server = start_ingest_server(catalog, settings, DuckDBSink(store))
            assert server is not None
            server.stop()
            outputs.append(capsys.readouterr().out)
    finally:
        store.close()
    assert "jobseek: " in outputs[0] and "ilikeyacut: " in outputs[0]
    assert "jobseek: " not in outputs[1] and "Bearer" not in outputs[1]


def test_the_cli_rotates_and_prints_the_new_token_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.cli import tokens as cli
    from analytics.local.ingest_tokens import token_book
    from tests.conftest import ROOT

    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANALYTICS_BACKEND", "local")
    monkeypatch.setenv("ANALYTICS_CATALOG", str(ROOT / "apps.toml"))
    assert cli.main(["rotate", "jobseek"]) == 0
    token = capsys.readouterr().out.strip()
    assert token_book(tmp_path).digests()  # stored as a hash ...
    assert token not in (tmp_path / FILE_NAME).read_text()
    assert cli.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "jobseek: 20" in listing and token not in listing
    assert cli.main(["rotate", "nope"]) == 2


# -- AWS: the caller's IAM principal, mapped to apps by the catalog -------------------------------
WRITER = "arn:aws:iam::123456789012:role/jobseek-writer"


def _signed(arn: str, body: Any) -> dict[str, Any]:
    event = http_api_event("POST", "/metrics", body=json.dumps(body))
    event["requestContext"]["authorizer"]["iam"]["userArn"] = arn
    return event


@pytest.mark.parametrize(("arn", "jobseek", "ilikeyacut"), [
    ("arn:aws:sts::123456789012:assumed-role/jobseek-writer/task-1", 202, 403),
    ("arn:aws:iam::123456789012:user/someone-else", 403, 403),  # signed, but mapped to nothing
])
def test_the_lambda_maps_the_signed_caller_to_its_apps(arn: str, jobseek: int,
                                                       ilikeyacut: int) -> None:
    # GIVEN the catalog's ingest_principals: the jobseek writer role may write jobseek
    sink = MemorySink()
    resolver = ingest_app.build_resolver(
        sink, ["jobseek", "ilikeyacut"], emit_emf=False, require_iam_auth=True,
        authorize=iam_authorizer({"jobseek": [WRITER], "ilikeyacut": []}), clock=frozen_clock())
    # WHEN a signed caller posts to each app
    got = [resolver.resolve(_signed(arn, point(app)), None)["statusCode"]
           for app in ("jobseek", "ilikeyacut")]
    # THEN only what the catalog grants is written
    assert got == [jobseek, ilikeyacut]
    assert {item.app for item in sink.items.values()} == ({"jobseek"} if jobseek == 202 else set())


def test_the_deployed_lambda_reads_the_principals_from_its_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the environment the stack gives the Lambda
    monkeypatch.setenv("METRICS_TABLE", "t")
    monkeypatch.setenv("ALLOWED_APPLICATIONS", "jobseek,ilikeyacut")
    monkeypatch.setenv("INGEST_PRINCIPALS", json.dumps({"jobseek": [WRITER]}))
    monkeypatch.delenv("REQUIRE_IAM_AUTH", raising=False)
    monkeypatch.delenv("INGEST_CAPS", raising=False)
    monkeypatch.setattr(ingest_app, "_handler_from_env",
                        functools.partial(ingest_app._handler_from_env, clock=frozen_clock()))
    ingest_app.default_resolver.cache_clear()
    try:
        resolver = ingest_app.default_resolver()
        event = _signed("arn:aws:iam::123456789012:user/example", point("jobseek"))
        answer = resolver.resolve(event, None)
    finally:
        ingest_app.default_resolver.cache_clear()
    # THEN a signed caller the catalog does not name is refused before anything is stored
    assert answer["statusCode"] == 403
    assert "'jobseek'" in json.loads(answer["body"])["errors"][0]["message"]


def test_a_second_start_keeps_the_tokens(tmp_path: Path) -> None:
    first = start_endpoint(tmp_path)
    first.server.stop()
    first.store.close()
    again = start_endpoint(tmp_path)
    try:
        assert again.tokens == {}  # nothing new to show
        assert http_post(again.server.url, point("jobseek"), first.tokens["jobseek"])[0] == 202
    finally:
        again.server.stop()
        again.store.close()
