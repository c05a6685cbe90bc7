"""Pipeline (admins): the latest runs with their status, counts and step times, a backfill
button, and where the local backend keeps its backup copies."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from analytics.pipeline import service as pipeline
from analytics.pipeline.model import PipelineError
from analytics.ui.context import runtime
from analytics.ui.frame import freshness

rt = runtime()
today = rt.now().date()

st.title("Pipeline")
st.caption("Daily rollups of CloudWatch's own daily statistics, the day's costs and custom-"
           "metric sums, kept beyond CloudWatch's 455 days; the weekly pack on Mondays and the "
           "monthly pack on the 1st. " + ("Runs as a Step Functions state machine (daily and "
           "weekly EventBridge schedules)." if rt.sources.backend == "aws" else
           "Runs daily inside this dashboard process."))

runs = pipeline.recent_runs(rt, limit=25)
freshness(runs)
if not runs.value:
    st.info("No run yet.")
else:
    last = runs.value[0]
    st.metric("Last run", last.status, f"{last.request.mode} {last.request.label}",
              delta_color="off", delta_arrow="off", border=True)
    st.dataframe(pd.DataFrame([{
        "started (UTC)": pd.Timestamp(r.started_ms, unit="ms", tz="UTC").strftime("%F %T"),
        "status": r.status, "trigger": r.trigger, "mode": r.request.mode,
        "days": r.request.label, "rollups": r.counts.get("rollups"),
        "reports": r.counts.get("reports"),
        "seconds": round(sum(r.durations_s.values()), 2), "error": r.error or "",
    } for r in runs.value]), hide_index=True)

st.subheader("Backfill")
with st.form("backfill"):
    c1, c2 = st.columns(2)
    first = c1.date_input("From (UTC)", today - timedelta(days=30), max_value=today,
                          key="backfill_from")
    last_day = c2.date_input("To (UTC, inclusive)", today - timedelta(days=1), max_value=today,
                             key="backfill_to")
    go = st.form_submit_button("Start backfill")
if go:
    try:
        ids = pipeline.request_backfill(rt, first, last_day, today=today)
        st.success(f"Started {len(ids)} run(s): {', '.join(ids)}. Re-running days replaces "
                   "their rollups; refresh to follow their status.")
    except (PipelineError, RuntimeError) as exc:
        st.error(str(exc))
