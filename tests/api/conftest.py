"""Two homes for the same GraphQL cases: the local twin over HTTP, and the AppSync Lambda's
handler on the aws sources of a seeded moto server, run through an AppSync emulator.

Each side is a :class:`Side`: how to run an operation as an admin or as a viewer of one app,
which app the viewer sees and which it does not, and the reference numbers of that backend
(the local store read through the service with a trusted principal; on moto, the values put).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from api_resolvers.handler import recorder_for

from analytics.api.identity import AppSyncAccess
from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.local.ingest_server import IngestServer, ingest_token
from analytics.local.ingest_tokens import token_book
from analytics.local.live_services import ingest_server
from analytics.local.simulator import DAY_MS
from analytics.sources import Runtime, build_runtime
from ingest import app as ingest_app
from ingest.sinks import DynamoDBSink
from tests.api.appsync_emulator import AppSyncEmulator
from tests.aws_account import (
    REGION,
    TABLE,
    Account,
    moto_server,
    patch_moto_gaps,
    seed_account,
    server_env,
)
from tests.conftest import frozen_clock, local_env

#: (data, error codes) of one operation.
Outcome = tuple[dict[str, Any] | None, list[str]]
ADMIN_ARN = "arn:aws:iam::123456789012:role/analytics-operator"
SHOP_ROLE = "arn:aws:iam::123456789012:role/shop-writer"


@dataclass
class Side:
    name: str
    run: Callable[[str, dict[str, Any], str], Outcome]  # (query, variables, "admin"|"viewer")
    app: str  # the viewer's app
    other: str  # an app the viewer may not see
    now: datetime
    custom_metric: str  # a custom metric of ``app`` with points in the last hour
    custom_values: list[float]
    extra: dict[str, Any] = field(default_factory=dict)


def _outcome(body: dict[str, Any]) -> Outcome:
    codes = [str((e.get("extensions") or {}).get("code") or e.get("errorType"))
             for e in body.get("errors") or []]
    return body.get("data"), codes


# -- the local twin ----------------------------------------------------------------------------
@dataclass
class Twin:
    rt: Runtime
    server: IngestServer
    operator: str
    tokens: dict[str, str]
    now_ms: int

    def post_graphql(self, query: str, variables: dict[str, Any], token: str | None
                     ) -> tuple[int, dict[str, Any]]:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(self.server.graphql_url, json={"query": query,
                                                             "variables": variables},
                              headers=headers, timeout=30, trust_env=False)
        return response.status_code, response.json()


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    """A local runtime (1 day, static) serving ingest and GraphQL on a free port. The API's
    clock is pinned to the store's last simulated instant, so no answer depends on when the
    suite runs."""
    data_dir: Path = tmp_path_factory.mktemp("api-twin")
    env = local_env(data_dir, INGEST_ENABLED="true", INGEST_PORT="0",
                    SIMULATOR_HISTORY_DAYS="1")
    clock = frozen_clock()
    rt = build_runtime(load_settings(env, secrets={}), cache=QueryCache(clock=clock), clock=clock)
    server = ingest_server(rt)
    assert server is not None and server.api is rt
    watermark = int(rt.local.store.get_meta("simulator_watermark_ms") or 0)
    assert watermark > DAY_MS
    server.clock = lambda: watermark / 1000
    book = token_book(rt.settings.data_dir)
    tokens = {app: book.rotate(app) for app in rt.catalog.ids()}
    yield Twin(rt, server, ingest_token(rt.settings, announce=False)[0], tokens, watermark)
    rt.stop()


@pytest.fixture(scope="session")
def local_side(twin: Twin) -> Side:
    def run(query: str, variables: dict[str, Any], who: str) -> Outcome:
        token = twin.operator if who == "admin" else twin.tokens["jobseek"]
        return _outcome(twin.post_graphql(query, variables, token)[1])

    now = datetime.fromtimestamp(twin.now_ms / 1000, UTC)
    names = twin.rt.local.store.cursor().execute(
        "SELECT metric_name FROM custom_metrics WHERE app = 'jobseek' AND ts_ms > ? "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1", [twin.now_ms - 3_600_000]).fetchone()
    assert names is not None
    return Side("local", run, "jobseek", "ilikeyacut", now, str(names[0]), [],
                {"twin": twin})


# -- the AppSync Lambda on moto ----------------------------------------------------------------
@pytest.fixture(scope="module")
def aws_side() -> Iterator[Side]:
    with pytest.MonkeyPatch.context() as mp, moto_server() as url:
        patch_moto_gaps(mp)
        acct: Account = seed_account(url)
        for k, v in server_env(url).items():
            mp.setenv(k, v)
        settings = load_settings(server_env(url, ANALYTICS_PAGE_DEADLINE_S="60"), secrets={})
        clock = acct.clock()
        rt = build_runtime(settings, cache=QueryCache(clock=clock), catalog=acct.catalog,
                           clock=clock)
        ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=url)
        handler = ingest_app.IngestHandler(
            DynamoDBSink(TABLE, ddb, sleep=lambda _s: None), acct.catalog.ids(),
            clock=clock, emit_emf=False, require_iam_auth=True,
            authorize=ingest_app.iam_authorizer({"shop": [SHOP_ROLE]}))
        rules = AppSyncAccess({"shop": (SHOP_ROLE,)}, (ADMIN_ARN,))
        emulator = AppSyncEmulator(rt, rules, lambda identity: recorder_for(identity, handler),
                                   clock)
        identities = {"admin": {"userArn": f"{ADMIN_ARN.replace(':iam::', ':sts::')}"
                                .replace(":role/", ":assumed-role/") + "/ops"},
                      "viewer": {"userArn": "arn:aws:sts::123456789012:assumed-role/"
                                            "shop-writer/app"}}

        def run(query: str, variables: dict[str, Any], who: str) -> Outcome:
            return _outcome(emulator.execute(query, variables, identities[who]))

        yield Side("aws", run, "shop", "blog", acct.now, "Orders", acct.custom["Orders"],
                   {"account": acct, "rt": rt, "ddb": ddb, "emulator": emulator})


@pytest.fixture(params=["local", "aws"])
def side(request: pytest.FixtureRequest) -> Side:
    return request.getfixturevalue(f"{request.param}_side")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
