"""EMF: every stored metric is also printed as an embedded-metric-format line under its app's
namespace, with only the caller's dimensions and the metric's own timestamp."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import NOW_MS, frozen_clock
from tests.functions.conftest import Call, http_api_event, ingest_app, metric


def emf_blobs(out: str) -> list[dict[str, Any]]:
    """The EMF lines of captured stdout (log lines are JSON too; EMF ones carry ``_aws``)."""
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [b for b in blobs if "_aws" in b]


def test_accepted_metric_is_emitted_under_the_apps_namespace(
    call: Call, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "central-analytics-ingest")  # must not leak in
    ingest_app.default_resolver.cache_clear()
    ts = NOW_MS - 30_000
    body = {
        "metrics": [
            metric(timestamp=ts, value=3.5),
            metric(applicationId="ilikeyacut", metricName="Cuts", unit=None, dimensions=[]),
        ]
    }
    assert call(body)[0] == 202
    jobseek, ilikeyacut = emf_blobs(capsys.readouterr().out)

    directive = jobseek["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "JobSeek/Business"  # APP_NAMESPACES mapping
    assert directive["Dimensions"] == [["Plan"]]
    assert directive["Metrics"] == [{"Name": "ApplicationsSent", "Unit": "Count"}]
    assert jobseek["_aws"]["Timestamp"] == ts
    assert jobseek["Plan"] == "pro"
    assert jobseek["ApplicationsSent"] == [3.5]
    assert "service" not in jobseek

    directive = ilikeyacut["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Application/ilikeyacut"  # the default
    assert directive["Dimensions"] == [[]]
    assert directive["Metrics"] == [{"Name": "Cuts", "Unit": "None"}]


def test_thirty_dimensions_reach_emf(call: Call, capsys: pytest.CaptureFixture[str]) -> None:
    dims = [{"name": f"D{i:02d}", "value": str(i)} for i in range(30)]  # Powertools' own cap: 29
    assert call(metric(dimensions=dims))[0] == 202
    [blob] = emf_blobs(capsys.readouterr().out)
    assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[d["name"] for d in dims]]


def test_rejected_and_unwritten_metrics_are_not_emitted(
    call: Call, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call({"metrics": [metric(), metric(unit="count")]})[0] == 422
    assert emf_blobs(capsys.readouterr().out) == []

    class DropsSecond:
        def write(self, items: list[Any]) -> list[int]:
            return [1]

    resolver = ingest_app.build_resolver(DropsSecond(), ["jobseek"], emit_emf=True,
                                         clock=frozen_clock())
    batch = {"metrics": [metric(metricName="Kept"), metric(metricName="Dropped")]}
    answer = resolver.resolve(http_api_event("POST", "/metrics", body=json.dumps(batch)), None)
    assert answer["statusCode"] == 503
    [blob] = emf_blobs(capsys.readouterr().out)
    assert "Kept" in blob


def test_emit_emf_false_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    from ingest.sinks import MemorySink

    resolver = ingest_app.build_resolver(MemorySink(), ["jobseek"], emit_emf=False,
                                         clock=frozen_clock())
    answer = resolver.resolve(http_api_event("POST", "/metrics", body=json.dumps(metric())), None)
    assert answer["statusCode"] == 202
    assert emf_blobs(capsys.readouterr().out) == []


def test_outcome_is_logged_without_the_body(call: Call, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    assert call(metric(dimensions=[{"name": "Secret", "value": "s3cr3t"}]))[0] == 202
    formatter = ingest_app.logger.registered_formatter  # the JSON lines CloudWatch Logs gets
    logs = [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == ingest_app.logger.name
    ]
    [outcome] = [line for line in logs if line["message"] == "ingest accepted"]
    assert (outcome["status"], outcome["items"], outcome["apps"]) == (202, 1, ["jobseek"])
    assert all("s3cr3t" not in json.dumps(line) for line in logs)
