"""Fixtures for the alarm tests: a local runtime with one always-firing alarm, and moto.

moto 5.2.5 answers DescribeAlarms in one page whatever ``MaxRecords`` says, returns composite
alarms even when ``AlarmTypes`` is omitted, and has PutCompositeAlarm's code but not its
dispatch. :func:`aws_paging` makes it behave like CloudWatch on those points (pages of at most
``MaxRecords`` with a ``NextToken``, metric alarms only unless ``AlarmTypes`` asks, at most 100
``AlarmNames``), so the pagination of the aws backend is tested against real page boundaries.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterator

import pytest
from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult

from analytics.core.catalog import Catalog, parse_catalog
from analytics.sources import Runtime, set_runtime
from tests.conftest import ROOT

#: jobseek's only alarms: one fires whenever its internal API serves requests (Count >= 0),
#: one never fires (Count < 0) — so the counts never depend on a simulated incident being on.
ALWAYS_FIRING = "jobseek-internal-always-firing"
NEVER_FIRING = "jobseek-internal-never-firing"


def _count_rule(name: str, comparison: str) -> dict[str, object]:
    return {"kind": "metric", "name": name, "namespace": "AWS/ApiGateway",
            "metric_name": "Count", "dimensions": {"ApiId": "q8w7e6r5t4"}, "statistic": "Sum",
            "threshold": 0, "comparison": comparison, "period": 300}


@pytest.fixture(scope="session")
def firing_catalog() -> Catalog:
    path = ROOT / "apps.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["apps"]["jobseek"]["alarms"] = {"defaults": False, "rules": [
        _count_rule("internal-always-firing", ">="), _count_rule("internal-never-firing", "<")]}
    return parse_catalog(data, path)


@pytest.fixture
def firing_runtime(local_runtime: Runtime, firing_catalog: Catalog) -> Iterator[Runtime]:
    """The session's 2-day local runtime with that catalog, installed as the process runtime
    (what pages get), cache emptied."""
    rt = dataclasses.replace(local_runtime, catalog=firing_catalog)
    rt.cache.reset()
    set_runtime(rt)
    yield rt
    set_runtime(None)


_ORIGINAL = CloudWatchResponse.describe_alarms


def paged_describe_alarms(self: CloudWatchResponse) -> ActionResult:
    names = self._get_param("AlarmNames", [])
    if len(names) > 100:
        raise ValidationError("AlarmNames: at most 100 names per request")
    result = _ORIGINAL(self).result
    types = self._get_param("AlarmTypes", []) or ["MetricAlarm"]
    items = [("MetricAlarms", a) for a in result["MetricAlarms"] if "MetricAlarm" in types]
    items += [("CompositeAlarms", a) for a in result["CompositeAlarms"]
              if "CompositeAlarm" in types]
    size = int(self._get_param("MaxRecords") or 50)
    first = int(self._get_param("NextToken") or 0)
    page = items[first:first + size]
    out: dict[str, object] = {k: [a for kk, a in page if kk == k]
                              for k in ("MetricAlarms", "CompositeAlarms")}
    if first + size < len(items):
        out["NextToken"] = str(first + size)
    return ActionResult(out)


@pytest.fixture
def aws_paging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CloudWatchResponse, "describe_alarms", paged_describe_alarms)
    monkeypatch.setattr(CloudWatchResponse, "put_composite_alarm",
                        CloudWatchResponse.put_metric_alarm, raising=False)
