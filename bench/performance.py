"""Performance page figures quoted in the README.

    .venv/bin/python -m bench.performance

For both apps and the 1h / 24h / 7d ranges: the number of metric queries of the page, the
GetMetricData calls one view costs on the aws backend (moto, counted by the botocore hook)
against a baseline of one call per metric and statistic, the metrics billed, and the local
backend's data-layer time for a cold (cache emptied) and a warm view, cold starts included.
Then the server-side render time of the whole page (AppTest) for 24h and 14d.
"""

from __future__ import annotations

import math
import time

from analytics.core.periods import preset_range
from analytics.performance import service as performance
from analytics.performance.page import page_queries
from analytics.sources import Runtime, set_runtime
from bench.common import local_runtime, median_time, moto_runtime

RANGES = ("1h", "24h", "7d")


def aws_figures() -> None:
    with moto_runtime() as rt:
        cache, catalog = rt.cache, rt.catalog
        print("aws backend (moto), GetMetricData calls per page view:")
        for app in catalog.apps:
            for preset in RANGES:
                tr = preset_range(preset)
                line = []
                for compare in (False, True):
                    cache.reset()
                    performance.performance(rt, app, tr=tr, compare=compare)
                    calls = cache.snapshot()["aws_calls"].get("cloudwatch.GetMetricData", 0)
                    units = cache.snapshot()["aws_units"].get("cloudwatch.GetMetricData", 0)
                    line.append((calls, units))
                    performance.performance(rt, app, tr=tr, compare=compare)
                    warm = cache.snapshot()["aws_calls"].get("cloudwatch.GetMetricData", 0)
                    assert warm == calls, "a second view within the TTL must not call AWS"
                n = len(page_queries(app, tr))
                (c, u), (cc, _) = line
                print(f"  {app.id:>10} {preset:>3}: {n} queries -> {c} GetMetricData call(s) "
                      f"(compare on: {cc}; bound ceil(n/500) = {math.ceil(n / 500)}); "
                      f"baseline one call per metric x statistic: {n} calls; "
                      f"{u} metrics billed ($ {u * 0.01 / 1000:.5f} per view)")


def local_figures(rt: Runtime) -> None:
    print("local backend, data layer per page view (median of 5; cold = cache emptied):")
    for app in rt.catalog.apps:
        for preset in (*RANGES, "14d"):
            tr = preset_range(preset)

            def view(app=app, tr=tr) -> None:
                page = performance.performance(rt, app, tr=tr, compare=True)
                performance.cold_starts(rt, page.app, tr=tr)

            def expire() -> None:
                rt.cache._entries.clear()

            cold = median_time(view, before=expire)
            warm = median_time(view)
            print(f"  {app.id:>10} {preset:>3} (compare on): cold {cold * 1000:6.1f} ms, "
                  f"warm {warm * 1000:5.1f} ms")


def render_figures(rt: Runtime) -> None:
    # The signed-in session the page tests use (no login round trip, no first-run admin).
    from tests.helpers import signed_in_app

    set_runtime(rt)
    print("whole page, server-side render (AppTest through Home.py, median of 5):")
    for app_id in ("jobseek", "ilikeyacut"):
        for preset in ("24h", "14d"):
            def run(app_id=app_id, preset=preset) -> None:
                at = signed_in_app("app_pages/performance.py", timeout=120, query={
                    "app": app_id, "range": preset, "compare": "1"}).run()
                assert not at.exception, at.exception
                assert len(at.get("plotly_chart")) >= 8

            run()  # import warm-up
            cold = median_time(run, before=lambda: rt.cache._entries.clear())
            warm = median_time(run)
            print(f"  {app_id:>10} {preset:>3} (compare on, all sections open): cold "
                  f"{cold * 1000:6.0f} ms, warm {warm * 1000:6.0f} ms")
    set_runtime(None)


def main() -> None:
    print("Performance page bench")
    aws_figures()
    t0 = time.perf_counter()
    rt, fill_s = local_runtime(14)
    print(f"local store: 14 days x {len(rt.catalog.apps)} apps, "
          f"{rt.local.store.sample_count():,} samples (fill {fill_s:.1f} s, "
          f"{time.perf_counter() - t0:.1f} s with start-up)")
    try:
        local_figures(rt)
        render_figures(rt)
    finally:
        rt.stop()


if __name__ == "__main__":
    main()
