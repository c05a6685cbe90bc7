"""Overview page figures quoted in the README.

    .venv/bin/python -m bench.overview

Prints, on the local backend with 14 days x 2 apps: the cold and warm server-side render time
of Overview (AppTest, median of 5 runs) and the upstream calls per view; and on the aws backend
(moto) the AWS calls per Overview view against a naive baseline of one GetMetricStatistics call
per metric and statistic for the same tiles.
"""

from __future__ import annotations

import time

from analytics.core.periods import preset_range
from analytics.overview import service as metrics
from analytics.sources import Runtime, set_runtime
from bench.common import local_runtime, median_time, moto_runtime


def render_figures(rt: Runtime, preset: str) -> None:
    from tests.helpers import signed_in_app  # a signed-in session, as the page tests use

    set_runtime(rt)

    def view() -> None:
        at = signed_in_app(query={"range": preset}, timeout=120).run()
        assert not at.exception, at.exception
        assert len(at.metric) == 5 * len(rt.catalog.apps), "Overview did not render its tiles"

    def calls() -> int:
        return sum(rt.cache.snapshot()["upstream_calls"].values())

    def expire() -> None:  # a cold view: every cached entry gone, counters kept
        rt.cache._entries.clear()

    view()  # import warm-up, not measured
    expire()
    c0 = calls()
    cold = median_time(view, before=expire)
    calls_cold = (calls() - c0) / 5
    c0 = calls()
    warm = median_time(view)
    calls_warm = (calls() - c0) / 5
    print(f"  range {preset:>4}: cold render {cold * 1000:7.0f} ms, warm {warm * 1000:6.0f} ms; "
          f"upstream calls per view: cold {calls_cold:g}, warm {calls_warm:g}")


def aws_figures() -> None:
    with moto_runtime() as rt:
        cache, catalog = rt.cache, rt.catalog
        for preset in ("1h", "24h", "7d"):
            cache.reset()
            tr = preset_range(preset)
            metrics.overview(rt, apps=list(catalog.apps), tr=tr)
            cold = dict(cache.snapshot()["aws_calls"])
            metrics.overview(rt, apps=list(catalog.apps), tr=tr)
            warm = sum(cache.snapshot()["aws_calls"].values()) - sum(cold.values())
            queries = metrics.overview_queries(list(catalog.apps), tr)
            naive = len(queries)
            print(f"  range {preset:>4}: {sum(cold.values())} AWS call(s) per cold view "
                  f"({cold}), {warm} warm; naive GetMetricStatistics baseline: {naive} calls "
                  f"({len(queries)} metric x statistic pairs)")


def main() -> None:
    print("Overview bench")
    rt, fill_s = local_runtime(14)
    n = rt.local.store.sample_count()
    print(f"local backend: 14 days x {len(rt.catalog.apps)} apps = {n:,} samples, "
          f"first-start fill {fill_s:.1f} s")
    for preset in ("1h", "24h", "14d"):
        render_figures(rt, preset)
    t0 = time.perf_counter()
    metrics.overview(rt, apps=list(rt.catalog.apps), tr=preset_range("14d"))
    print(f"  data layer only, 14d, warm cache: {(time.perf_counter() - t0) * 1000:.1f} ms")
    set_runtime(None)
    rt.stop()
    print("aws backend (moto):")
    aws_figures()


if __name__ == "__main__":
    main()
