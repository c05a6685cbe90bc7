"""A deterministic workload simulator for the local backend.

It produces what CloudWatch would hold for each app in the catalog: API Gateway, Lambda (with
cold starts), DynamoDB, RDS and S3 metrics, with daily and weekly cycles, lognormal latencies and
scheduled incidents (an error burst, a throttling episode and a slow deploy every week).

Determinism is by construction: a day of one app is generated from an RNG seeded only by
``(seed, app, day)``, so the same seed gives the same data whether a day is generated in one go
at first start, or minute by minute while the dashboard runs, or again after a restart.
Each sample also carries the time it becomes *available* (a per-minute count is only complete
when its minute ends), which is what makes gap filling exact.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from analytics.core.catalog import Api, App, Catalog
from analytics.metrics.queries import (
    api_query,
    cold_start_query,
    dynamodb_query,
    lambda_query,
    rds_query,
    s3_query,
)

MIN_MS = 60_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
ANCHOR_MS = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)  # a Monday
LATENCY_SAMPLES_PER_MIN = 6
COLUMNS = ["namespace", "metric_name", "dims", "ts_ms", "value", "avail_ms"]
KEY_COLUMNS = ("namespace", "metric_name", "dims")


@dataclass(frozen=True)
class Incident:
    app: str
    kind: str  # "error_burst" | "throttling" | "slow_deploy"
    start_ms: int
    end_ms: int


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def incidents_for_week(app: App, week: int, seed: int) -> list[Incident]:
    """The week's incidents for ``app``: one of each kind at seeded times."""
    rng = np.random.default_rng([seed, _stable(app.id), week % 2**31, 99])
    start = ANCHOR_MS + week * WEEK_MS
    out = []
    for kind, (lo, hi) in (("error_burst", (20, 40)), ("throttling", (25, 45)),
                           ("slow_deploy", (60, 120))):
        day = int(rng.integers(0, 7))
        minute = int(rng.integers(8 * 60, 20 * 60)) if kind == "slow_deploy" else \
            int(rng.integers(0, 1440))
        t0 = start + day * DAY_MS + minute * MIN_MS
        out.append(Incident(app.id, kind, t0, t0 + int(rng.integers(lo, hi + 1)) * MIN_MS))
    return out


def incidents_between(app: App, t0_ms: int, t1_ms: int, *, seed: int) -> list[Incident]:
    w0 = (t0_ms - ANCHOR_MS) // WEEK_MS - 1
    w1 = (t1_ms - ANCHOR_MS) // WEEK_MS + 1
    return [i for w in range(w0, w1 + 1) for i in incidents_for_week(app, w, seed)
            if i.end_ms > t0_ms and i.start_ms < t1_ms]


def _mask(minutes_ms: np.ndarray, incidents: list[Incident], kind: str) -> np.ndarray:
    m = np.zeros(len(minutes_ms), dtype=bool)
    for inc in incidents:
        if inc.kind == kind:
            m |= (minutes_ms >= inc.start_ms) & (minutes_ms < inc.end_ms)
    return m


class _DayBuilder:
    """Accumulates one app-day of samples as column arrays."""

    def __init__(self, minutes_ms: np.ndarray, rng: np.random.Generator) -> None:
        self.minutes = minutes_ms
        self.rng = rng
        self.parts: list[tuple[tuple[str, str, str], np.ndarray, np.ndarray, np.ndarray]] = []

    def per_minute(self, key: tuple[str, str, str], values: np.ndarray,
                   complete_at_end: bool = True) -> None:
        """One sample per minute; counts are only available once their minute has ended."""
        avail = self.minutes + (MIN_MS if complete_at_end else 0)
        self._add(key, self.minutes, values, avail)

    def spread(self, key: tuple[str, str, str], per_minute: np.ndarray, values: np.ndarray
               ) -> None:
        """Individual observations at random instants of their minute (available at once)."""
        base = np.repeat(self.minutes, per_minute)
        ts = base + self.rng.integers(0, MIN_MS, size=len(base))
        self._add(key, ts, values, ts)

    def _add(self, key: tuple[str, str, str], ts: np.ndarray, values: np.ndarray,
             avail: np.ndarray) -> None:
        self.parts.append((key, ts.astype("int64"), values.astype("float64"),
                           avail.astype("int64")))

    def frame(self) -> pd.DataFrame:
        """The day as one frame; the key columns are categoricals (a few hundred series in a
        million rows), which keeps building, filtering and storing a day vectorised."""
        if not self.parts:
            return pd.DataFrame(columns=COLUMNS)
        keys = [p[0] for p in self.parts]
        rows = np.repeat(np.arange(len(keys)), [len(p[1]) for p in self.parts])
        data: dict[str, object] = {}
        for j, col in enumerate(KEY_COLUMNS):
            cats = list(dict.fromkeys(k[j] for k in keys))
            where = {c: i for i, c in enumerate(cats)}
            per_key = np.array([where[k[j]] for k in keys], dtype="int32")
            data[col] = pd.Categorical.from_codes(per_key[rows], categories=pd.Index(cats))
        for i, col in enumerate(("ts_ms", "value", "avail_ms"), start=1):
            data[col] = np.concatenate([p[i] for p in self.parts])
        return pd.DataFrame(data, columns=COLUMNS)


def concat_days(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate day frames, keeping the key columns categorical (plain ``pd.concat`` turns
    categoricals with different categories into Python objects, one per row)."""
    data: dict[str, object] = {
        col: union_categoricals([p[col].astype("category") for p in parts])
        for col in KEY_COLUMNS}
    for col in ("ts_ms", "value", "avail_ms"):
        data[col] = np.concatenate([p[col].to_numpy() for p in parts])
    return pd.DataFrame(data, columns=COLUMNS)


def _load_curve(minutes_ms: np.ndarray) -> np.ndarray:
    """Relative traffic: a daily cycle peaking 15:00 UTC, quieter weekends."""
    hours = (minutes_ms % DAY_MS) / 3_600_000
    daily = 0.55 + 0.45 * np.sin(2 * np.pi * (hours - 9) / 24)
    weekday = ((minutes_ms // DAY_MS) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weekly = np.where(weekday >= 5, 0.65, 1.0)
    return daily * weekly


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float,
               size: int) -> np.ndarray:
    return np.asarray(median) * np.exp(rng.normal(0.0, sigma, size=size))


def generate_day(app: App, day: int, seed: int) -> pd.DataFrame:
    """Every sample of ``app`` on UTC day number ``day`` (days since 1970-01-01)."""
    rng = np.random.default_rng([seed, _stable(app.id), day])
    minutes = day * DAY_MS + np.arange(1440, dtype="int64") * MIN_MS
    incidents = incidents_between(app, int(minutes[0]), int(minutes[-1]) + MIN_MS, seed=seed)
    burst = _mask(minutes, incidents, "error_burst")
    throttle = _mask(minutes, incidents, "throttling")
    slow = _mask(minutes, incidents, "slow_deploy")
    load = _load_curve(minutes) * np.exp(rng.normal(0, 0.08, 1440))
    rate = 400.0 * app.weight * load  # requests per minute for the whole app
    b = _DayBuilder(minutes, rng)
    k = LATENCY_SAMPLES_PER_MIN
    res = app.resources

    api_shares = np.array([0.7 ** i for i in range(len(res.apis))])
    api_shares = api_shares / api_shares.sum() if len(api_shares) else api_shares
    for i, api in enumerate(res.apis):
        count = rng.poisson(rate * api_shares[i])
        p5 = np.where(burst & (i == 0), 0.09, 0.0015)
        e4 = rng.binomial(count, 0.018)
        e5 = rng.binomial(count, p5)
        for metric, values in (("Count", count), ("4XXError", e4), ("5XXError", e5)):
            key = api_query(app.id, api, metric, stat="Sum", period=60).series_key
            b.per_minute(key, values)
            if api.kind == "http" and api.stage_given:
                # AWS publishes HTTP API metrics per stage *and* summed over stages (ApiId
                # alone); the counts get that second copy too, so alarms on either resolve.
                whole = api_query(app.id, Api(id=api.id, name=api.name, kind="http"), metric,
                                  stat="Sum", period=60)
                b.per_minute(whole.series_key, values)
        per_min = np.where(count > 0, k, 0)
        median = np.repeat((55.0 + 25 * i) * (0.85 + 0.3 * load) * np.where(slow, 3.2, 1.0),
                           per_min)
        integ = _lognormal(rng, median, 0.45, len(median))
        latency = integ + _lognormal(rng, 7.0, 0.3, len(median))
        b.spread(api_query(app.id, api, "IntegrationLatency", stat="p95", period=60).series_key,
                 per_min, integ)
        b.spread(
            api_query(app.id, api, "Latency", stat="p95", period=60).series_key, per_min, latency
        )

    for j, fn in enumerate(res.lambdas):
        share = 0.9 / (j + 1)
        inv = rng.poisson(rate * share)
        errors = rng.binomial(inv, np.where(burst & (j == 0), 0.07, 0.002))
        throttles = np.where(throttle & (j == len(res.lambdas) - 1),
                             rng.poisson(np.maximum(inv, 1) * 0.2), 0)
        med = (90.0 + 310.0 * ((_stable(fn) % 7) / 6.0)) * np.where(slow & (j == 0), 2.6, 1.0)
        per_min = np.where(inv > 0, k, 0)
        durations = _lognormal(rng, np.repeat(np.broadcast_to(med, (1440,)), per_min), 0.5,
                               int(per_min.sum()))
        conc = np.ceil(inv / 60.0 * (np.broadcast_to(med, (1440,)) / 1000.0) * 1.6
                       + rng.poisson(1.0, 1440))
        cold = np.minimum(rng.binomial(inv, 0.012), 6)
        init = _lognormal(rng, 380.0 + 40 * j, 0.3, int(cold.sum()))
        for metric, values in (("Invocations", inv), ("Errors", errors),
                               ("Throttles", throttles)):
            b.per_minute(lambda_query(app.id, fn, metric, stat="Sum", period=60).series_key, values)
        b.per_minute(
            lambda_query(app.id, fn, "ConcurrentExecutions", stat="Maximum", period=60).series_key,
            conc,
        )
        b.spread(
            lambda_query(app.id, fn, "Duration", stat="p95", period=60).series_key,
            per_min,
            durations,
        )
        b.spread(cold_start_query(app.id, fn, stat="SampleCount", period=60).series_key, cold, init)

    for table in res.dynamodb_tables:
        b.per_minute(
            dynamodb_query(
                app.id, table, "ConsumedReadCapacityUnits", stat="Sum", period=60
            ).series_key,
            np.round(rate * 0.8 * np.exp(rng.normal(0, 0.1, 1440)), 1),
        )
        b.per_minute(
            dynamodb_query(
                app.id, table, "ConsumedWriteCapacityUnits", stat="Sum", period=60
            ).series_key,
            np.round(rate * 0.25 * np.exp(rng.normal(0, 0.1, 1440)), 1),
        )
        throttled = np.where(throttle, rng.poisson(25, 1440), 0)
        reads = rng.binomial(throttled, 0.4)  # a throttling episode hits reads and writes
        b.per_minute(
            dynamodb_query(app.id, table, "ThrottledRequests", stat="Sum", period=60).series_key,
            throttled - reads,  # CloudWatch's per-operation metric: PutItem's share only
        )
        b.per_minute(
            dynamodb_query(app.id, table, "ReadThrottleEvents", stat="Sum", period=60).series_key,
            reads,
        )
        b.per_minute(
            dynamodb_query(app.id, table, "WriteThrottleEvents", stat="Sum", period=60)
            .series_key, throttled - reads,
        )
        per_min = np.full(1440, 3)
        b.spread(dynamodb_query(app.id, table, "SuccessfulRequestLatency", stat="p95", period=60)
                 .series_key, per_min, _lognormal(rng, 4.5, 0.35, int(per_min.sum())))

    for inst in res.rds_instances:
        cpu = np.clip(12 + 55 * load + np.where(slow, 20, 0) + rng.normal(0, 3, 1440), 0, 100)
        conns = np.round(8 + 40 * load + rng.normal(0, 2, 1440)).clip(0)
        for metric, values in (
            ("CPUUtilization", cpu), ("DatabaseConnections", conns),
            ("ReadLatency", _lognormal(rng, 0.0018 * (1 + load), 0.2, 1440)),
            ("WriteLatency", _lognormal(rng, 0.0035 * (1 + load), 0.2, 1440)),
            ("FreeStorageSpace", 100e9 - (minutes - ANCHOR_MS) / DAY_MS * 0.15e9),
        ):
            b.per_minute(
                rds_query(app.id, inst, metric, stat="Average", period=60).series_key,
                values,
                complete_at_end=False,
            )

    day_start = minutes[:1]
    b_days = (day_start - ANCHOR_MS) / DAY_MS
    for n, bucket in enumerate(res.s3_buckets):
        size = (20e9 + 5e9 * n) * (1 + 0.004 * b_days) * app.weight
        objects = np.round(size / 350_000)
        for metric, values in (("BucketSizeBytes", size), ("NumberOfObjects", objects)):
            b._add(
                s3_query(app.id, bucket, metric, stat="Average", period=86400).series_key,
                day_start,
                values,
                day_start,
            )
    return b.frame()


class Simulator:
    """Samples for every app of the catalog, by availability time."""

    def __init__(self, catalog: Catalog, seed: int = 7, cache_days: int = 6) -> None:
        self.catalog = catalog
        self.seed = seed
        self._days: OrderedDict[tuple[str, int], pd.DataFrame] = OrderedDict()
        self._cache_days = cache_days

    def _day(self, app: App, day: int) -> pd.DataFrame:
        key = (app.id, day)
        frame = self._days.get(key)
        if frame is None:
            frame = generate_day(app, day, self.seed)
            self._days[key] = frame
            while len(self._days) > self._cache_days * max(1, len(self.catalog.apps)):
                self._days.popitem(last=False)
        return frame

    def available_between(self, t0_ms: int, t1_ms: int) -> pd.DataFrame:
        """Samples that became available in ``(t0_ms, t1_ms]`` for every app."""
        parts = []
        for app in self.catalog.apps:
            # A sample available at t may have been observed up to a minute earlier.
            for day in range((t0_ms - MIN_MS) // DAY_MS, t1_ms // DAY_MS + 1):
                f = self._day(app, day)
                sel = f[(f["avail_ms"] > t0_ms) & (f["avail_ms"] <= t1_ms)]
                if len(sel):
                    parts.append(sel)
        if not parts:
            return pd.DataFrame(columns=COLUMNS)
        return concat_days(parts)

    def incidents(self, t0_ms: int, t1_ms: int) -> list[Incident]:
        return [i for app in self.catalog.apps
                for i in incidents_between(app, t0_ms, t1_ms, seed=self.seed)]
