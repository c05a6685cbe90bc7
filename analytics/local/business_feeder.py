"""Simulated business metrics for the local backend: history through the sink, live over HTTP.

What the apps would push with ``recordCustomMetric``: for every app ``ActiveUsers`` (its catalog
``mau_metric``) — the rolling 30-day count of distinct active users, a slowly varying gauge
(iLikeYaCut ≈ 4,500, JobSeek ≈ 7,000) with slow growth and a gentle daily wobble — plus per-app
counts by ``Plan``: ``HaircutsGenerated`` (ilikeyacut), ``ApplicationsSent`` and ``JobSearches``
(jobseek); counts follow the service simulator's daily/weekly traffic curve.

Two paths, on purpose:
* history and gap fill (first start: ``history_days``; restart: since the watermark kept in the
  store's ``meta`` table) are written straight through the DuckDB sink — a point a minute, and a
  point per live step for the last hour — in the same transaction as the watermark, so nothing
  is duplicated or skipped;
* live points (one per series every ``step_s``) are POSTed to the local endpoint with
  :mod:`analytics.custom.client`, so the live data really crosses HTTP, validation, auth and
  the sink — exactly what the Realtime page's "ingest lag" measures.

Deterministic by seed: a history day of a series comes from an RNG seeded by
``(seed, series, day)``, the live-step points of an hour from ``(seed, series, hour, step)``.
History rows carry a simulated ingest lag (they were never POSTed); live rows the measured one.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from analytics.core.catalog import App, Catalog
from analytics.custom.client import IngestError, record_metrics
from analytics.local.custom_sink import FRAME_COLUMNS, DuckDBSink
from analytics.local.simulator import DAY_MS, _load_curve

log = logging.getLogger(__name__)

GRID_MS = 60_000  # history / gap-fill resolution
WATERMARK = "business_feeder_watermark_ms"
#: A live backlog longer than this is backfilled through the sink (a POST per 5 s point of a long
#: outage would be slow and the endpoint refuses timestamps older than 14 days anyway).
MAX_LIVE_BACKLOG_MS = 10 * 60_000
RETENTION_DAYS = 90
#: The last hour of history is written at the live step's resolution.
FINE_SPAN_MS = 3_600_000
HOUR_MS = 3_600_000
#: Growth of the gauges: ~2.4 % a month around this reference date.
REF_MS = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
GROWTH_PER_DAY = 0.0008


@dataclass(frozen=True)
class BusinessSeries:
    """One simulated series: a metric of an app with one dimension set."""

    app: str
    metric: str
    unit: str
    dims: tuple[tuple[str, str], ...]
    kind: str  # "gauge" (a level) or "count" (events per step)
    level: float  # gauge: typical value; count: events per minute at peak traffic

    @property
    def seed_key(self) -> int:
        text = f"{self.app}|{self.metric}|" + ",".join(f"{k}={v}" for k, v in self.dims)
        return zlib.crc32(text.encode())


#: Per-app counters (metric, unit, {Plan: events per minute at peak}).
_COUNTS: dict[str, list[tuple[str, dict[str, float]]]] = {
    "ilikeyacut": [("HaircutsGenerated", {"free": 38.0, "pro": 14.0})],
    "jobseek": [("ApplicationsSent", {"free": 22.0, "pro": 11.0}),
                ("JobSearches", {"free": 260.0, "pro": 70.0})],
}
_ACTIVE_USERS = {"ilikeyacut": 4_500.0, "jobseek": 7_000.0}


def app_series(app: App) -> list[BusinessSeries]:
    """The series simulated for ``app``; an app without a profile gets ActiveUsers + Signups."""
    out = [BusinessSeries(app.id, app.mau_metric, "Count", (), "gauge",
                          _ACTIVE_USERS.get(app.id, round(3_000.0 * app.weight)))]
    counts = _COUNTS.get(app.id, [("Signups", {"free": 4.0 * app.weight, "pro": app.weight})])
    for metric, plans in counts:
        out += [BusinessSeries(app.id, metric, "Count", (("Plan", plan),), "count", rate)
                for plan, rate in plans.items()]
    return out


def catalog_series(catalog: Catalog) -> list[BusinessSeries]:
    return [s for app in catalog.apps for s in app_series(app)]


def series_values(s: BusinessSeries, ts_ms: np.ndarray, *, step_ms: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Values of ``s`` at ``ts_ms``: gauge levels, or event counts over the ``step_ms`` ending
    there."""
    n = len(ts_ms)
    if s.kind == "gauge":
        days = (ts_ms - REF_MS) / DAY_MS
        hours = (ts_ms % DAY_MS) / 3_600_000
        wobble = 1 + 0.012 * np.sin(2 * np.pi * (hours - 9) / 24)
        noise = 1 + rng.normal(0.0, 0.0006, n)
        return np.round(s.level * np.exp(GROWTH_PER_DAY * days) * wobble * noise)
    lam = s.level * _load_curve(ts_ms) * step_ms / 60_000
    return rng.poisson(lam).astype("float64")


class BusinessFeeder:
    """Writes the business-metric history and, once started, POSTs live points."""

    def __init__(self, catalog: Catalog, sink: DuckDBSink, seed: int, history_days: int,
                 step_s: float, clock: Callable[[], float] = time.time) -> None:
        self.series = catalog_series(catalog)
        self.sink, self.store = sink, sink.store
        self.keys = sink.keys
        self.seed, self.history_days = seed, history_days
        self.step_ms = max(1_000, round(step_s * 1000))
        self.clock = clock
        self.sent = 0  # live points acknowledged by the endpoint
        self.failures = 0
        self._hours: dict[tuple[BusinessSeries, int], tuple[int, np.ndarray]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hashes = {s: self.keys.dims_hash(self.keys.canonical_dims(s.dims))
                        for s in self.series}

    # -- history and gap fill (through the sink) ---------------------------------------------
    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def watermark(self) -> int | None:
        raw = self.store.get_meta(WATERMARK)
        return None if raw is None else int(raw)

    def history_frame(self, t0_ms: int, t1_ms: int) -> pd.DataFrame:
        """Rows (sink columns) of every series on the 1-minute grid in ``(t0_ms, t1_ms]``."""
        first = (t0_ms // GRID_MS + 1) * GRID_MS
        parts = []
        for s in self.series:
            for day in range(first // DAY_MS, t1_ms // DAY_MS + 1):
                grid = day * DAY_MS + np.arange(0, DAY_MS, GRID_MS, dtype="int64")
                rng = np.random.default_rng([self.seed, s.seed_key, day, 1])
                values = series_values(s, grid, step_ms=GRID_MS, rng=rng)
                lag = np.round(rng.lognormal(np.log(60.0), 0.5, len(grid))).astype("int64")
                keep = (grid >= first) & (grid <= t1_ms)
                if keep.any():
                    parts.append(self._rows(s, grid[keep], values[keep], grid[keep] + lag[keep]))
        if not parts:
            return pd.DataFrame(columns=FRAME_COLUMNS)
        return pd.concat(parts, ignore_index=True)

    def _rows(self, s: BusinessSeries, ts: np.ndarray, values: np.ndarray,
              received: np.ndarray) -> pd.DataFrame:
        if self.keys.SORT_KEY_SHIFT != 10**20:  # the string concatenation below relies on it
            raise RuntimeError("ingest_keys.SORT_KEY_SHIFT changed; update the feeder")
        n = len(ts)
        ts_s = pd.Series(ts).astype(str)
        return pd.DataFrame({
            "metric_id": self.keys.metric_id(s.app, s.metric),
            "sort_key": ts_s + f"{self._hashes[s]:020d}",  # == ts * 10**20 + dims hash
            "ts_ms": ts, "dims": self.keys.canonical_dims(s.dims), "value": values,
            "unit": s.unit, "app": s.app, "metric_name": s.metric, "received_ms": received,
            "ttl": (ts + RETENTION_DAYS * DAY_MS) // 1000,
        }, index=range(n), columns=FRAME_COLUMNS)

    def fill(self, until_ms: int | None = None) -> int:
        """Write every point since the watermark (at most ``history_days`` back) through the
        sink, the watermark in the same transaction; returns the rows written.

        Older than :data:`FINE_SPAN_MS`: one point a minute, a day per transaction. The last
        hour: one point per live step, exactly the values the live feeder would have POSTed, so
        the Realtime window never mixes resolutions (a per-10 s Sum would show a fake cliff).
        """
        until = self.now_ms() if until_ms is None else until_ms
        oldest = until // GRID_MS * GRID_MS - self.history_days * DAY_MS
        wm = self.watermark()
        t0 = oldest if wm is None else max(wm, oldest)
        fine_from = max(t0, (until - FINE_SPAN_MS) // GRID_MS * GRID_MS)
        written = 0
        if t0 % GRID_MS and t0 < fine_from:  # a live watermark mid-minute: finish that minute
            edge = (t0 // GRID_MS + 1) * GRID_MS
            written += self._backfill(self._stamps(t0, edge))
            t0 = edge
        while t0 < fine_from:
            t1 = min(fine_from, t0 + DAY_MS)
            written += self.sink.write_frame(self.history_frame(t0, t1), meta={WATERMARK: str(t1)})
            t0 = t1
        return written + self._backfill(self._stamps(max(t0, fine_from), until))

    def _stamps(self, after_ms: int, until_ms: int) -> list[int]:
        """Live-grid times in ``(after_ms, until_ms]``."""
        return list(range((after_ms // self.step_ms + 1) * self.step_ms, until_ms + 1,
                          self.step_ms))

    # -- live points (over HTTP) ------------------------------------------------------------
    def _hour_values(self, s: BusinessSeries, hour: int) -> tuple[int, np.ndarray]:
        """Live-grid values of ``s`` in one UTC hour: (first grid time, values), from an RNG
        seeded by (seed, series, hour, step) — vectorised, and identical whether a point is
        POSTed live or backfilled later."""
        key = (s, hour)
        got = self._hours.get(key)
        if got is None:
            first = -(-hour * HOUR_MS // self.step_ms) * self.step_ms
            grid = np.arange(first, (hour + 1) * HOUR_MS, self.step_ms, dtype="int64")
            rng = np.random.default_rng([self.seed, s.seed_key, hour, self.step_ms, 2])
            got = (first, series_values(s, grid, step_ms=self.step_ms, rng=rng))
            self._hours[key] = got
            while len(self._hours) > 4 * len(self.series):
                self._hours.pop(next(iter(self._hours)))
        return got

    def _step_values(self, s: BusinessSeries, stamps: np.ndarray) -> np.ndarray:
        out = np.empty(len(stamps), dtype="float64")
        hours = stamps // HOUR_MS
        for hour in np.unique(hours):
            first, values = self._hour_values(s, int(hour))
            sel = hours == hour
            out[sel] = values[(stamps[sel] - first) // self.step_ms]
        return out

    def _live_value(self, s: BusinessSeries, ts_ms: int) -> float:
        return float(self._step_values(s, np.array([ts_ms], dtype="int64"))[0])

    def live_metrics(self, ts_ms: int) -> dict[str, list[dict[str, Any]]]:
        """Wire-form metrics of every series at grid time ``ts_ms``, grouped by app."""
        out: dict[str, list[dict[str, Any]]] = {}
        for s in self.series:
            m: dict[str, Any] = {"applicationId": s.app, "metricName": s.metric,
                                 "value": self._live_value(s, ts_ms), "unit": s.unit,
                                 "timestamp": ts_ms}
            if s.dims:
                m["dimensions"] = [{"name": k, "value": v} for k, v in s.dims]
            out.setdefault(s.app, []).append(m)
        return out

    def send_due(self, url: str, token: str) -> int:
        """POST every live point due since the watermark; returns points acknowledged."""
        now = self.now_ms()
        wm = self.watermark()
        if wm is None or now - wm > MAX_LIVE_BACKLOG_MS:
            self.fill(now)
            wm = self.watermark() or now
        first = (wm // self.step_ms + 1) * self.step_ms
        due = list(range(first, now + 1, self.step_ms))
        # Points already several steps old (the thread was starved, the endpoint was down) are
        # backfilled like history, so the measured lag only covers points sent on time.
        late = [t for t in due if t < now - 2 * self.step_ms]
        if late:
            self._backfill(late)
            due = due[len(late):]
        if not due:
            return 0
        by_app: dict[str, list[dict[str, Any]]] = {}
        for ts in due:
            for app, ms in self.live_metrics(ts).items():
                by_app.setdefault(app, []).extend(ms)
        sent = 0
        for app, metrics in by_app.items():  # one POST per app, as each app pushes its own
            try:
                sent += record_metrics(metrics, endpoint=url, token=token, timeout=3.0,
                                       retries=2)
            except IngestError as exc:
                if exc.status is None or exc.status == 429 or exc.status >= 500:
                    raise  # transient: keep the watermark, resend next tick
                log.error("business feeder: %s refused by the endpoint: %s", app, exc)
        self.store.set_meta(WATERMARK, str(due[-1]))
        self.sent += sent
        return sent

    def _backfill(self, stamps: list[int]) -> int:
        """Write live-grid points through the sink (history-style, with a simulated lag)."""
        if not stamps:
            return 0
        ts = np.array(stamps, dtype="int64")
        lag = np.full(len(ts), 60, dtype="int64")  # simulated, as for the history
        parts = [self._rows(s, ts, self._step_values(s, ts), ts + lag) for s in self.series]
        return self.sink.write_frame(pd.concat(parts, ignore_index=True),
                                     meta={WATERMARK: str(stamps[-1])})

    def catch_up(self) -> int:
        """Backfill the live-grid points already due (since :meth:`fill`) through the sink, so
        the first POST is on time and the measured lag means something; returns the points."""
        wm = self.watermark()
        if wm is None:
            return 0
        return self._backfill(self._stamps(wm, self.now_ms())) // max(1, len(self.series))

    def start_live(self, url: str, token: str) -> None:
        """Send a point per series every step, at the step's grid time, from a daemon thread."""
        self.catch_up()
        self._thread = threading.Thread(target=self._run, args=(url, token),
                                        name="business-feeder", daemon=True)
        self._thread.start()

    def _run(self, url: str, token: str) -> None:
        while not self._stop.is_set():
            wm = self.watermark() or self.now_ms()
            wait_ms = (wm // self.step_ms + 1) * self.step_ms - self.now_ms()
            if wait_ms > 0 and self._stop.wait(wait_ms / 1000):
                return
            try:
                self.send_due(url, token)
            except Exception as exc:
                self.failures += 1
                if self.failures in (1, 10) or self.failures % 100 == 0:
                    log.warning("business feeder: live points not delivered (%s); retrying", exc)
                if self._stop.wait(self.step_ms / 1000):
                    return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
