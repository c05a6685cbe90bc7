"""CloudWatch alarms (DescribeAlarms, DescribeAlarmHistory) and their metric (GetMetricData).

Selection: by the app's ``alarm_prefix`` (DescribeAlarms ``AlarmNamePrefix``), or, when the
catalog gives alarm ``tags``, by the Resource Groups Tagging API (``tag:GetResources`` with
``cloudwatch:alarm``; one paginated call instead of ListTagsForResource per alarm) followed by
DescribeAlarms on those names, 100 at a time. ``AlarmTypes`` always names both types: without
it DescribeAlarms and DescribeAlarmHistory return metric alarms only. Every list is followed
by botocore's paginators. DescribeAlarms has a low quota (~9 TPS): the data layer caches it 60 s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pandas as pd

from analytics.alarms.config import AlarmConfig
from analytics.alarms.rules import OPERATORS, AlarmInfo, Evaluation, Transition
from analytics.core.aws_clients import AwsClients
from analytics.core.catalog import App
from analytics.core.periods import PeriodError, as_utc, period_is_valid, utcnow

ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]
#: DescribeAlarms / DescribeAlarmHistory: at most 100 records per page; AlarmNames: 100 names.
PAGE_SIZE = 100
_SUMMARY_RE = re.compile(r"from (\w+) to (\w+)")


def console_url(region: str, name: str) -> str:
    """The alarm's page in the CloudWatch console."""
    return (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#alarmsV2:alarm/{quote(name, safe='')}")


def alarm_queries(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """GetMetricData queries that reproduce a metric alarm's datapoints (math alarms too)."""
    if alarm.get("Metrics"):
        keep = ("Id", "MetricStat", "Expression", "Label", "ReturnData", "Period")
        return [{k: m[k] for k in keep if k in m} for m in alarm["Metrics"]]
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    if not stat or not alarm.get("MetricName"):
        return []
    return [{"Id": "m0", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                   "Dimensions": alarm.get("Dimensions", [])},
        "Period": int(alarm["Period"]), "Stat": stat}}]


def with_period(queries: list[dict[str, Any]], period: int) -> list[dict[str, Any]]:
    """The same queries at another period (every MetricStat and expression)."""
    out = []
    for q in queries:
        q = dict(q)
        if "MetricStat" in q:
            q["MetricStat"] = {**q["MetricStat"], "Period": period}
        if "Period" in q:
            q["Period"] = period
        out.append(q)
    return out


def _period(alarm: dict[str, Any]) -> int | None:
    if alarm.get("Period"):
        return int(alarm["Period"])
    for m in alarm.get("Metrics", []):
        if m.get("MetricStat", {}).get("Period"):
            return int(m["MetricStat"]["Period"])
        if m.get("Period"):
            return int(m["Period"])
    return None


def _evaluation(alarm: dict[str, Any]) -> Evaluation | None:
    """The alarm's evaluation settings; None for anomaly-band or odd alarms."""
    period, op = _period(alarm), alarm.get("ComparisonOperator", "")
    if period is None or op not in OPERATORS or alarm.get("Threshold") is None:
        return None
    n = int(alarm.get("EvaluationPeriods", 1))
    try:
        return Evaluation(float(alarm["Threshold"]), op, period, n,
                          int(alarm.get("DatapointsToAlarm") or n),
                          alarm.get("TreatMissingData") or "missing")
    except ValueError:
        return None


def _metric_label(alarm: dict[str, Any]) -> str:
    for m in alarm.get("Metrics", []):
        if m.get("ReturnData", True) and m.get("Expression"):
            return f"{m.get('Label') or 'expression'}: {m['Expression']}"
    dims = ", ".join(f"{d['Name']}={d['Value']}" for d in alarm.get("Dimensions", []))
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic") or ""
    return f"{alarm.get('Namespace', '')} {alarm.get('MetricName', '')} {stat}" \
           + (f" ({dims})" if dims else "")


def _since(alarm: dict[str, Any], now: datetime) -> datetime:
    ts = alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")
    return as_utc(ts) if isinstance(ts, datetime) else now


def _transition(item: dict[str, Any]) -> Transition | None:
    """A StateUpdate history item -> Transition (HistoryData JSON, else the summary text)."""
    old = new = None
    reason = item.get("HistorySummary", "")
    try:
        data = json.loads(item.get("HistoryData") or "{}")
        old = data.get("oldState", {}).get("stateValue")
        new = data.get("newState", {}).get("stateValue")
        reason = data.get("newState", {}).get("stateReason") or reason
    except (ValueError, AttributeError):
        pass
    if not (old and new):
        m = _SUMMARY_RE.search(item.get("HistorySummary", ""))
        if not m:
            return None
        old, new = m.group(1), m.group(2)
    return Transition(as_utc(item["Timestamp"]), old, new, reason)


class AwsAlarms:
    """The app's alarms by prefix or by tags; ``clock`` dates an alarm CloudWatch did not."""

    #: CloudWatch evaluates its own alarms: there is never history to wait for.
    history_pending = False

    def __init__(self, *, clients: AwsClients, clock: Callable[[], datetime] = utcnow) -> None:
        self.clients = clients
        self.clock = clock

    def _region(self) -> str:
        return str(self.clients.client("cloudwatch").meta.region_name)

    def _tagged_alarm_names(self, tags: dict[str, str]) -> list[str]:
        pages = self.clients.client("resourcegroupstaggingapi").get_paginator(
            "get_resources").paginate(
                ResourceTypeFilters=["cloudwatch:alarm"],
                TagFilters=[{"Key": k, "Values": [v]} for k, v in sorted(tags.items())])
        arns = [r["ResourceARN"] for page in pages
                for r in page.get("ResourceTagMappingList", [])]
        return sorted({arn.split(":alarm:", 1)[1] for arn in arns if ":alarm:" in arn})

    def _describe(self, **selector: Any) -> list[tuple[str, dict[str, Any]]]:
        pages = self.clients.client("cloudwatch").get_paginator("describe_alarms").paginate(
            AlarmTypes=ALARM_TYPES, PaginationConfig={"PageSize": PAGE_SIZE}, **selector)
        out: list[tuple[str, dict[str, Any]]] = []
        for page in pages:
            out += [("metric", a) for a in page.get("MetricAlarms", [])]
            out += [("composite", a) for a in page.get("CompositeAlarms", [])]
        return out

    def alarm_infos(self, app: App, config: AlarmConfig) -> list[AlarmInfo]:
        """The app's metric and composite alarms, by tags if configured, else by prefix."""
        if config.tags:
            names = self._tagged_alarm_names(config.tags)
            raw = [a for i in range(0, len(names), PAGE_SIZE)
                   for a in self._describe(AlarmNames=names[i:i + PAGE_SIZE])]
        else:
            raw = self._describe(AlarmNamePrefix=config.prefix)
        region = self._region()
        now = self.clock()
        infos = []
        for kind, a in raw:
            ev = _evaluation(a) if kind == "metric" else None
            infos.append(AlarmInfo(
                app=app.id, name=a["AlarmName"], state=a.get("StateValue", "INSUFFICIENT_DATA"),
                since=_since(a, now), reason=a.get("StateReason", ""), kind=kind,
                description=a.get("AlarmDescription", ""),
                metric=_metric_label(a) if kind == "metric" else "",
                evaluation=ev, unit=a.get("Unit", "") or "", rule=a.get("AlarmRule", ""),
                console_url=console_url(region, a["AlarmName"]),
                spec=alarm_queries(a) if kind == "metric" else None,
            ))
        return infos

    def alarm_transitions(self, app: App, config: AlarmConfig, alarm_name: str, *,
                          start: datetime, end: datetime) -> list[Transition]:
        """StateUpdate history of one alarm within ``[start, end)``, oldest first."""
        pages = self.clients.client("cloudwatch").get_paginator(
            "describe_alarm_history").paginate(
                AlarmName=alarm_name, AlarmTypes=ALARM_TYPES, HistoryItemType="StateUpdate",
                StartDate=as_utc(start), EndDate=as_utc(end), ScanBy="TimestampAscending",
                PaginationConfig={"PageSize": PAGE_SIZE})
        out = [t for page in pages for t in map(_transition, page.get("AlarmHistoryItems", []))
               if t]
        return sorted(out, key=lambda t: t.at)

    def alarm_metric(self, info: AlarmInfo, *, start: datetime, end: datetime,
                     period: int | None = None) -> pd.Series:
        """The alarm's datapoints over ``[start, end)`` (GetMetricData, every page), at
        ``period`` if given (a 10 s alarm drawn at 60 s once its 10 s data has aged out)."""
        queries: list[dict[str, Any]] = info.spec or []
        if not queries or info.evaluation is None:
            return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
        if period is not None and period != info.evaluation.period:
            queries = with_period(queries, period)
        period = period or info.evaluation.period
        if not period_is_valid(period, start, self.clock(), high_resolution=period < 60):
            raise PeriodError(f"CloudWatch keeps no {period}-second data from {start:%F %T}; "
                              "pick a more recent transition")
        returned = next((q["Id"] for q in queries if q.get("ReturnData", True)), queries[0]["Id"])
        pages = self.clients.client("cloudwatch").get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=as_utc(start), EndTime=as_utc(end),
            ScanBy="TimestampAscending")
        stamps: list[datetime] = []
        values: list[float] = []
        for page in pages:
            for r in page.get("MetricDataResults", []):
                if r["Id"] == returned:
                    stamps += r.get("Timestamps", [])
                    values += [float(v) for v in r.get("Values", [])]
        index = pd.to_datetime(stamps, utc=True) if stamps else pd.DatetimeIndex([], tz="UTC")
        return pd.Series(values, index=index, dtype="float64").sort_index()
