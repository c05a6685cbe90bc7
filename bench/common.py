"""Helpers shared by the bench scripts: timing, a throwaway local runtime, AppTest runs."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics.core.cache import QueryCache
from analytics.core.settings import load_settings
from analytics.sources import Runtime, build_runtime

ROOT = Path(__file__).resolve().parent.parent


def local_runtime(history_days: int = 14, data_dir: str | None = None) -> tuple[Runtime, float]:
    """A fresh local runtime with ``history_days`` of history; returns it and the fill time."""
    d = data_dir or tempfile.mkdtemp(prefix="bench-")
    t0 = time.perf_counter()
    rt = build_runtime(load_settings({
        "ANALYTICS_BACKEND": "local", "ANALYTICS_DATA_DIR": d, "SIMULATOR_LIVE": "false",
        "SIMULATOR_HISTORY_DAYS": str(history_days), "INGEST_ENABLED": "false",
    }, secrets={}), cache=QueryCache())
    return rt, time.perf_counter() - t0


def median_time(fn: Callable[[], object], runs: int = 5,
                before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@contextmanager
def moto_runtime() -> Iterator[Runtime]:
    """An aws-backend runtime on moto (us-east-1, empty account, fresh cache) for call counts."""
    import os

    from moto import mock_aws

    from analytics.core.catalog import load_catalog

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    with mock_aws():
        settings = load_settings({"ANALYTICS_BACKEND": "aws", "AWS_REGION": "us-east-1"},
                                 secrets={})
        cache = QueryCache()
        catalog = load_catalog(ROOT / "apps.toml")
        yield build_runtime(settings, cache=cache, catalog=catalog)


def bench_catalog(n_apps: int, directory: str | Path, *, first: str | None = None) -> Path:
    """An ``apps.toml`` of ``n_apps`` apps: copies of the shipped apps, every id and resource
    name suffixed, so each copy is its own set of series (what a bigger team's catalog is);
    ``first`` puts that shipped app first (the one a page picks by default)."""
    import json
    import tomllib

    base = tomllib.loads((ROOT / "apps.toml").read_text())["apps"]
    lines: list[str] = []
    ids = sorted(base, key=lambda a: a != first)
    for i in range(n_apps):
        src_id = ids[i % len(ids)]
        src = base[src_id]
        n = i // len(ids)
        app_id = src_id if n == 0 else f"{src_id}{n + 1}"

        def sfx(name: str, n: int = n) -> str:
            return name if n == 0 else f"{name}-{n + 1}"

        lines.append(f"[apps.{app_id}]")
        for k, v in src.items():
            if k in ("resources", "alarms"):
                continue
            if k in ("display_name",) and n:
                v = f"{v} {n + 1}"
            elif k in ("cost_tag", "alarm_prefix") and n:
                v = app_id if k == "cost_tag" else f"{app_id}-"
            lines.append(f"{k} = {json.dumps(v)}")
        res = src.get("resources", {})
        lines.append(f"[apps.{app_id}.resources]")
        apis = [{**a, "id": sfx(a["id"]), "name": sfx(a["name"])} for a in res.get("apis", [])]
        lines.append("apis = [" + ", ".join(
            "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in a.items()) + "}"
            for a in apis) + "]")
        for k in ("lambdas", "dynamodb_tables", "rds_instances", "s3_buckets"):
            lines.append(f"{k} = {json.dumps([sfx(x) for x in res.get(k, [])])}")
        alarms = src.get("alarms")
        if alarms:
            lines.append(f"[apps.{app_id}.alarms]")
            lines.append(f"defaults = {json.dumps(alarms.get('defaults', True))}")
            for rule in alarms.get("rules", []):
                lines.append(f"[[apps.{app_id}.alarms.rules]]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in rule.items()]
        lines.append("")
    path = Path(directory) / f"apps-{n_apps}{'-' + first if first else ''}.toml"
    path.write_text("\n".join(lines))
    return path
