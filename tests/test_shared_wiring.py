"""How ANALYTICS_CACHE_URL is read and wired: the tier behind the query cache, the shared
sign-in budgets and deny-list, ElastiCache IAM tokens; and nothing of it without the setting."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from analytics.auth.lockout import THROTTLE
from analytics.auth.revocation import FileRevokedSessions
from analytics.auth.shared_stores import RedisAttemptLimiter, RedisRevokedSessions
from analytics.core.cache import QueryCache
from analytics.core.cache_auth import ElastiCacheIAMProvider
from analytics.core.settings import SettingsError, load_settings
from analytics.core.tier import RedisTier
from analytics.sources import build_runtime, where_cached
from tests.conftest import frozen_clock, local_env
from tests.redis_server import RedisServer


@pytest.mark.parametrize("url", ["http://cache:6379", "valkey.internal:6379", "memcached://x"])
def test_a_cache_url_that_is_not_redis_is_refused_with_the_fix(url: str) -> None:
    with pytest.raises(SettingsError, match="redis://host:port"):
        load_settings({"ANALYTICS_CACHE_URL": url}, secrets={})


def test_without_the_url_each_process_caches_and_counts_alone(tmp_path: Path) -> None:
    # GIVEN no ANALYTICS_CACHE_URL WHEN the runtime is built
    clock = frozen_clock()
    rt = build_runtime(load_settings(local_env(tmp_path), secrets={}),
                       cache=QueryCache(clock=clock), clock=clock)
    try:
        # THEN there is no tier, the in-process throttle and the data-dir deny-list
        assert rt.cache.tier is None and "tier" not in rt.cache.snapshot()
        assert rt.security.attempts is THROTTLE
        assert isinstance(rt.security.revoked, FileRevokedSessions)
    finally:
        rt.stop()


def test_with_the_url_cache_budgets_and_deny_list_share_the_tier(
        tmp_path: Path, redis_server: RedisServer) -> None:
    # GIVEN ANALYTICS_CACHE_URL pointing at a running server
    env = local_env(tmp_path, ANALYTICS_CACHE_URL=redis_server.url)
    # WHEN the runtime is built
    clock = frozen_clock()
    rt = build_runtime(load_settings(env, secrets={}), cache=QueryCache(clock=clock), clock=clock)
    try:
        # THEN the query cache reads through the tier and the security stores live there,
        # the durable deny-list behind it
        assert isinstance(rt.cache.tier, RedisTier) and rt.cache.snapshot()["tier"] == "up"
        assert isinstance(rt.security.attempts, RedisAttemptLimiter)
        assert isinstance(rt.security.revoked, RedisRevokedSessions)
        assert isinstance(rt.security.revoked.durable, FileRevokedSessions)
    finally:
        rt.stop()


def test_the_footer_never_shows_the_password() -> None:
    assert where_cached("rediss://user:s3cret@cache.example:6380/0") == \
        "rediss://cache.example:6380"


def test_iam_tokens_are_signed_connect_requests_reused_for_ten_minutes() -> None:
    # GIVEN the task role's session and a serverless cache
    now, signed = [0.0], []

    class Counting(ElastiCacheIAMProvider):
        def token(self) -> str:
            signed.append(now[0])
            return super().token()

    provider = Counting(
        user="central-analytics", cache_name="central-analytics-prod", region="us-east-1",
        session=boto3.session.Session(region_name="us-east-1"), clock=lambda: now[0])
    # WHEN redis-py asks for credentials, now and 11 minutes later
    user, token = provider.get_credentials()
    same = provider.get_credentials()[1]
    now[0] += 11 * 60
    provider.get_credentials()
    # THEN the password is a presigned SigV4 URL without its scheme, valid 15 minutes
    parts = urlsplit("https://" + token)
    query = parse_qs(parts.query)
    assert user == "central-analytics" and parts.hostname == "central-analytics-prod"
    assert query["Action"] == ["connect"] and query["User"] == ["central-analytics"]
    assert query["ResourceType"] == ["ServerlessCache"] and query["X-Amz-Expires"] == ["900"]
    assert "X-Amz-Signature" in query
    assert query["X-Amz-Credential"][0].endswith("/us-east-1/elasticache/aws4_request")
    # and one token serves 10 minutes of new connections, then a new one is signed
    assert same == token and signed == [0.0, 660.0]
