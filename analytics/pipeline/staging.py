"""Data handed from one Lambda step to the next, through the reports bucket's ``staging/``.

Step Functions caps a state's input and output at 256 KB, and a month of backfill is more than
that; so each step stores its result as JSON under ``staging/<run id>/`` and passes the key.
The bucket expires ``staging/`` after a few days, and the store step deletes what it read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from analytics.metrics.frames import tidy
from analytics.pipeline.model import Rollup, RunRequest
from analytics.pipeline.source import ReportsSource
from analytics.pipeline.steps import COST_COLUMNS, CUSTOM_COLUMNS, Fetched

PREFIX = "staging/"


def _key(run_id: str, name: str) -> str:
    return f"{PREFIX}{run_id}/{name}.json"


def _rows(frame: pd.DataFrame, date_col: str) -> list[list[Any]]:
    out = []
    for row in frame.itertuples(index=False):
        values = list(row)
        i = list(frame.columns).index(date_col)
        values[i] = values[i].isoformat()
        out.append(values)
    return out


def dump_fetched(f: Fetched) -> bytes:
    return json.dumps({
        "request": f.request.to_dict(), "notes": f.notes,
        "metrics": _rows(f.metrics, "timestamp"),
        "costs": _rows(f.costs, "day"), "custom": _rows(f.custom, "day"),
    }).encode()


def load_fetched(body: bytes) -> Fetched:
    d = json.loads(body)
    metrics = tidy([(pd.Timestamp(r[0]), *r[1:]) for r in d["metrics"]])
    costs = pd.DataFrame([[date.fromisoformat(r[0]), *r[1:]] for r in d["costs"]],
                         columns=COST_COLUMNS)
    custom = pd.DataFrame([[date.fromisoformat(r[0]), *r[1:]] for r in d["custom"]],
                          columns=CUSTOM_COLUMNS)
    return Fetched(RunRequest.from_dict(d["request"]), metrics, costs, custom, list(d["notes"]))


def dump_rollups(rollups: Sequence[Rollup]) -> bytes:
    return json.dumps([[r.app, r.day.isoformat(), r.to_json(), r.computed_ms]
                       for r in rollups]).encode()


def load_rollups(body: bytes) -> list[Rollup]:
    return [Rollup.from_json(a, date.fromisoformat(d), data, int(ms))
            for a, d, data, ms in json.loads(body)]


def stage(reports: ReportsSource, run_id: str, name: str, body: bytes) -> str:
    key = _key(run_id, name)
    reports.put(key, body, content_type="application/json")
    return key
