"""The disaster-recovery drill: local (restore the newest backup copy of the DuckDB store) and
aws (RestoreTableToPointInTime on moto).

moto implements RestoreTableToPointInTime but copies the source as it is *now* (it ignores
RestoreDateTime) and reports PITR's restorable window from its own wall clock; the tests set that
window on moto's table so the recovery point is deterministic, and write every item before it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import duckdb
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from analytics.core.aws_clients import AwsClients
from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.dr.aws import AwsDrill
from analytics.dr.local import LocalDrill
from analytics.dr.model import DrillError, render
from analytics.local.backup import backup_due, list_backups, take_backup
from analytics.local.store import LocalStore
from tests.pipeline.conftest import fill

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def _perf() -> Iterator[float]:
    return itertools.count(0.0, 0.25)  # every step "takes" 0.25 s


class Perf:
    def __init__(self) -> None:
        self._n = _perf()

    def __call__(self) -> float:
        return next(self._n)


# -- local ------------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    s = LocalStore(tmp_path / "analytics.duckdb")
    fill(s)
    yield s
    s.close()


def _drill(store: LocalStore, backups: Path, at: datetime) -> LocalDrill:
    return LocalDrill(store=store, backup_dir=backups, clock=lambda: at.timestamp(),
                      perf=Perf(), rng=random.Random(5))


def test_local_drill_restores_the_newest_backup_and_reports_its_recovery_point(
        store: LocalStore, tmp_path: Path) -> None:
    # GIVEN a backup taken at T0 and writes to the live store after it
    backups = tmp_path / "backups"
    taken = take_backup(store, backups, now_ms=T0_MS)
    store.insert_samples(store.cursor().execute(
        "SELECT 'X/Y' AS namespace, 'm' AS metric_name, '' AS dims, 1 AS ts_ms, 1.0 AS value"
    ).df())
    # WHEN the drill runs 90 seconds later
    rep = _drill(store, backups, T0 + timedelta(seconds=90)).drill(sample=10)
    # THEN it passes: the copy holds the counts recorded at T0 and its rows are in the store
    assert rep.passed, render(rep)
    assert rep.recovery_point == T0 and rep.achieved_rpo_s == 90.0
    assert rep.expected_count == sum(taken.counts().values()) == rep.restored_count
    assert rep.sample_size == 10 and rep.sample_mismatches == 0
    assert [s.name for s in rep.steps] == [
        "find newest backup", "restore copy", "open restored store", "count restored rows",
        "compare sample", "delete restored copy"]
    assert rep.duration_s == 1.5
    # AND the restored copy is gone; the backup stays
    assert [p.name for p in tmp_path.glob("restore-drill-*")] == []
    assert list_backups(backups)[0].path == taken.path
    assert "achieved RPO:   1 min 30 s" in render(rep) and "result: PASS" in render(rep)


def test_local_drill_fails_on_a_truncated_copy(store: LocalStore, tmp_path: Path) -> None:
    # GIVEN a backup copy that lost rows after it was taken
    backups = tmp_path / "backups"
    taken = take_backup(store, backups, now_ms=T0_MS)
    con = duckdb.connect(str(taken.path))
    con.execute("DELETE FROM samples WHERE ts_ms % 2 = 0")
    con.close()
    # WHEN the drill runs
    rep = _drill(store, backups, T0).drill(sample=10)
    # THEN it fails and says which table differs
    assert not rep.passed and rep.restored_count < rep.expected_count
    assert any(n.startswith("samples: expected") for n in rep.notes)
    assert "DIFFER by -" in render(rep) and "result: FAIL" in render(rep)


def test_local_drill_fails_when_restored_rows_are_not_in_the_store(
        store: LocalStore, tmp_path: Path) -> None:
    # GIVEN a backup, then the live store loses its samples
    backups = tmp_path / "backups"
    take_backup(store, backups, now_ms=T0_MS)
    with store.transaction() as cur:
        cur.execute("DELETE FROM samples")
    # WHEN the drill compares its sample with the store
    rep = _drill(store, backups, T0).drill(sample=10)
    # THEN the sampled sample rows are reported missing
    assert rep.sample_mismatches == 5 and not rep.passed


def test_local_drill_without_a_backup_says_how_to_take_one(store: LocalStore,
                                                           tmp_path: Path) -> None:
    with pytest.raises(DrillError, match=r"python -m analytics\.dr backup"):
        _drill(store, tmp_path / "none", T0).drill()


def test_backups_keep_the_newest_and_are_due_after_the_interval(store: LocalStore,
                                                                tmp_path: Path) -> None:
    # GIVEN three backups six hours apart, keeping two
    backups = tmp_path / "backups"
    for h in (0, 6, 12):
        take_backup(store, backups, now_ms=T0_MS + h * 3_600_000, keep=2)
    # THEN the two newest remain with their sidecars, newest first
    kept = list_backups(backups)
    assert [b.taken_ms for b in kept] == [T0_MS + 12 * 3_600_000, T0_MS + 6 * 3_600_000]
    assert sorted(p.suffix for p in backups.iterdir()) == [".duckdb", ".duckdb", ".json",
                                                          ".json"]
    # AND the next is due six hours after the newest, not before
    newest = T0_MS + 12 * 3_600_000
    assert not backup_due(backups, now_ms=newest + 5 * 3_600_000, interval_s=6 * 3600)
    assert backup_due(backups, now_ms=newest + 6 * 3_600_000, interval_s=6 * 3600)


# -- aws --------------------------------------------------------------------------------------

TABLE = "metrics-drill"


@pytest.fixture
def aws_table() -> Iterator[AwsClients]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"},
                                    {"AttributeName": "timestamp", "KeyType": "RANGE"}],
                         AttributeDefinitions=[
                             {"AttributeName": "metricId", "AttributeType": "S"},
                             {"AttributeName": "timestamp", "AttributeType": "N"}])
        for i in range(40):
            ts = T0_MS - 3_600_000 + i * 60_000
            ddb.put_item(TableName=TABLE, Item={
                "metricId": {"S": f"app#m{i % 3}"}, "timestamp": {"N": str(ts * 10**20 + i)},
                "value": {"N": str(i)}, "receivedAt": {"N": str(ts + 100)}})
        ddb.update_continuous_backups(
            TableName=TABLE,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        pitr = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[TABLE] \
            .continuous_backups["PointInTimeRecoveryDescription"]
        pitr["EarliestRestorableDateTime"] = (T0 - timedelta(days=35)).timestamp()
        pitr["LatestRestorableDateTime"] = (T0 - timedelta(seconds=60)).timestamp()
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                 secrets={})
        yield AwsClients(settings, QueryCache())


def _aws_drill(clients: AwsClients) -> AwsDrill:
    return AwsDrill(clients=clients, table=TABLE, clock=lambda: T0.timestamp(), perf=Perf(),
                    sleep=lambda s: None, rng=random.Random(2))


def test_aws_drill_restores_to_a_point_minutes_back_compares_and_deletes(
        aws_table: AwsClients) -> None:
    # GIVEN a table with PITR whose newest restorable second is a minute old
    # WHEN the drill restores to five minutes ago
    rep = _aws_drill(aws_table).drill(lookback_s=300, sample=12)
    # THEN the recovery point is five minutes back, counts and sample match
    assert rep.passed, render(rep)
    assert rep.recovery_point == T0 - timedelta(seconds=300) and rep.achieved_rpo_s == 300.0
    assert rep.expected_count == rep.restored_count == 40
    assert rep.sample_size == 12 and rep.sample_mismatches == 0
    assert [s.name for s in rep.steps] == [
        "check PITR", "restore request", "wait until ACTIVE", "count source at the point",
        "count restored", "compare sample", "delete restored table"]
    # AND the restored table is gone again, the source untouched
    tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
    assert tables == [TABLE]
    assert rep.restored == "metrics-drill-drill-20260310T120000"


def test_aws_drill_cannot_go_past_the_latest_restorable_time(aws_table: AwsClients) -> None:
    # GIVEN a lookback shorter than PITR's lag
    # WHEN the drill runs
    rep = _aws_drill(aws_table).drill(lookback_s=10, sample=3)
    # THEN it restores to the latest restorable second: the RPO PITR really achieves
    assert rep.recovery_point == T0 - timedelta(seconds=60) and rep.achieved_rpo_s == 60.0


def test_aws_drill_counts_only_items_written_by_the_recovery_point(
        aws_table: AwsClients) -> None:
    # GIVEN an item written after the recovery point (moto copies it anyway: it ignores the
    # restore time, so the copy holds one item more than the source held at the point)
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName=TABLE, Item={
        "metricId": {"S": "app#late"}, "timestamp": {"N": "1"}, "value": {"N": "1"},
        "receivedAt": {"N": str(T0_MS - 1000)}})
    # WHEN the drill runs
    rep = _aws_drill(aws_table).drill(lookback_s=300, sample=3)
    # THEN the source's count at the point excludes it, and the difference fails the drill
    assert rep.expected_count == 40 and rep.restored_count == 41 and not rep.passed


def test_aws_drill_deletes_the_copy_even_when_a_check_fails(
        aws_table: AwsClients, monkeypatch: pytest.MonkeyPatch) -> None:
    drill = _aws_drill(aws_table)

    def broken(*args: object) -> tuple[int, int, int]:
        raise RuntimeError("sample read failed")

    monkeypatch.setattr(drill, "_compare", broken)
    with pytest.raises(RuntimeError, match="sample read failed"):
        drill.drill(lookback_s=300, sample=3)
    assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == [
        TABLE]


def test_aws_drill_needs_pitr() -> None:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "metricId", "KeyType": "HASH"}],
                         AttributeDefinitions=[
                             {"AttributeName": "metricId", "AttributeType": "S"}])
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                 secrets={})
        with pytest.raises(DrillError, match="point-in-time recovery is not enabled"):
            _aws_drill(AwsClients(settings, QueryCache())).drill()
