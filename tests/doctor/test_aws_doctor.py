"""The doctor on a live endpoint (a moto server started by the test): a healthy account passes
with exit 0 and says what it could not check; a broken one fails with the fix for each ✗."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.stub import Stubber

from analytics.cli import doctor as cli
from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.doctor.calls import Calls
from analytics.doctor.checks import Status
from analytics.doctor.probes import LOGS_ACTIONS, PROBES, iam_rows, needed_actions
from analytics.doctor.service import run_doctor
from analytics.sources import build_runtime
from tests.aws_account import (
    REST_ID,
    TABLE,
    catalog_toml,
    client,
    seed_account,
    server_env,
)


def _rows(out: str) -> dict[str, str]:
    """Check name -> its line, from the CLI's output."""
    rows = {}
    for line in out.splitlines()[1:-1]:
        if line[:1] in "✓✗⚠":
            name = line[2:].split("  ")[0].strip()
            rows[name] = line
    return rows


def test_a_healthy_account_passes_and_says_what_it_could_not_check(
        moto_url: str, moto_gaps: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a seeded account and the apps.toml an operator would write for it
    account = seed_account(moto_url)
    apps = tmp_path / "apps.toml"
    apps.write_text(catalog_toml(account.http_ids["shop"], account.http_ids["blog"]))
    for k, v in server_env(moto_url, ANALYTICS_CATALOG=str(apps)).items():
        monkeypatch.setenv(k, v)
    # WHEN `python -m analytics.doctor` runs
    code = cli.main([], clock=account.clock())
    out = capsys.readouterr().out
    rows = _rows(out)
    # THEN nothing is ✗, so the exit code is 0
    assert code == 0, out
    assert out.splitlines()[-1].endswith("— exit 0")
    # AND the account, each action, the table, the catalog, logs and alarms each have a row
    assert "account 123456789012" in rows["Region and identity"]
    for action in needed_actions():
        assert action in rows, action
    assert rows["logs:StartQuery"].startswith("✓") and "/aws/lambda/shop-checkout" in rows[
        "logs:StartQuery"]
    assert rows[f"Metrics table {TABLE}: PITR"].startswith("✓")
    assert rows[f"Metrics table {TABLE}: TTL"].startswith("✓")
    assert f"REST API {REST_ID}, stage prod" in rows["shop: API shop-public"]
    assert "storage types StandardIAStorage, StandardStorage" in rows["shop: bucket shop-assets"]
    assert "text REPORT in /aws/lambda/blog-render" in rows["blog: logs of blog-render"]
    assert "2 found by prefix 'shop-', 1 in ALARM" in rows["shop: alarms"]
    assert rows["Logs Insights test query"].startswith("✓")
    assert rows["Billing alerts (HighCost alarm)"].startswith("✓")
    # AND what moto does not implement is ⚠ "could not tell", never a silent ✓
    for missing in ("ce:GetCostForecast", "ce:GetAnomalies", "ce:ListCostAllocationTags",
                    "logs:StopQuery", "Cost-allocation tag Application"):
        assert rows[missing].startswith("⚠ ") and "could not tell" in rows[missing], missing


def test_a_broken_deployment_fails_with_a_fix_per_problem(moto_url: str, moto_gaps: None
                                                          ) -> None:
    # GIVEN the account with PITR off, and a catalog that renamed the REST API, names a
    # stage the HTTP API lacks and lists a function that does not exist
    account = seed_account(moto_url)
    client(moto_url, "dynamodb").update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    shop = account.catalog.get("shop")
    apis = (shop.resources.apis[0].model_copy(update={"name": "shop-web"}),
            shop.resources.apis[1].model_copy(update={"stage": "beta"}))
    broken = shop.model_copy(update={"resources": shop.resources.model_copy(update={
        "apis": apis, "lambdas": ("shop-checkout", "shop-gone")})})
    catalog = account.catalog.model_copy(update={"apps": (broken, account.catalog.get("blog"))})
    rt = build_runtime(load_settings(server_env(moto_url), secrets={}),
                       cache=QueryCache(clock=account.clock()), catalog=catalog,
                       clock=account.clock())
    # WHEN the doctor runs
    report = run_doctor(rt)
    rows = {c.name: c for c in report.checks}
    # THEN each problem is a ✗ with its fix, and the exit code is 1
    assert report.exit_code == 1
    assert rows[f"Metrics table {TABLE}: PITR"].status is Status.FAIL
    rest = rows["shop: API shop-web"]
    assert rest.status is Status.FAIL and "is named 'shop-public'" in rest.found
    assert rest.fix == 'set name = "shop-public" in apps.toml'
    stage = rows["shop: API shop-internal"]
    assert stage.status is Status.FAIL and "no stage 'beta'" in stage.found
    gone = rows["shop: function shop-gone"]
    assert gone.status is Status.FAIL and "ResourceNotFoundException" in gone.found
    assert "[apps.shop.resources]" in gone.fix


def test_a_refused_action_is_a_fail_with_the_redeploy_fix(moto_url: str) -> None:
    # GIVEN a role Cost Explorer refuses GetCostForecast to (answers shaped like AWS's)
    account = seed_account(moto_url, with_costs=False)
    rt = build_runtime(load_settings(server_env(moto_url), secrets={}),
                       cache=QueryCache(clock=account.clock()), catalog=account.catalog,
                       clock=account.clock())
    clients = rt.sources.doctor.clients  # type: ignore[attr-defined]
    stub = Stubber(clients.client("ce"))
    stub.add_response("get_cost_and_usage", {"ResultsByTime": []})
    stub.add_client_error("get_cost_forecast", "AccessDeniedException",
                          "User is not authorized to perform: ce:GetCostForecast", 400)
    stub.add_client_error("get_anomalies", "ValidationException", "no monitor", 400)
    stub.add_response("list_cost_allocation_tags", {"CostAllocationTags": []})
    # WHEN the IAM rows are made
    with stub:
        rows = {c.name: c for c in iam_rows(
            Calls(clients), account.catalog, settings=rt.settings, now=account.now,
            logs={})}
    # THEN the refusal is ✗ with the fix, and an error after authorization is ✓
    assert rows["ce:GetCostAndUsage"].status is Status.PASS
    refused = rows["ce:GetCostForecast"]
    assert refused.status is Status.FAIL and refused.found.startswith("refused")
    assert "redeploy the stack" in refused.fix and "task role" in refused.fix
    assert rows["ce:GetAnomalies"].status is Status.PASS
    assert "answered ValidationException" in rows["ce:GetAnomalies"].found


def test_every_action_of_the_permissions_table_has_a_dry_call() -> None:
    assert set(PROBES) | set(LOGS_ACTIONS) == set(needed_actions())
