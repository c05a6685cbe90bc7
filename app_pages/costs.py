"""Costs: month to date, forecast and budgets, daily spend, movers, anomalies, unit economics,
the long-term history (pipeline rollups + Cost Explorer), the dashboard's own AWS spend and the
review packs. All data comes from analytics.*."""

import streamlit as st

from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.core.fmt import change, human
from analytics.core.periods import HISTORY_PRESETS, history_range
from analytics.costs import own_spend, tables, unit_economics
from analytics.costs import service as costs
from analytics.costs.frames import METRICS
from analytics.costs.queries import OWN_STACK, is_admin
from analytics.figures import costs as figures
from analytics.pipeline import history
from analytics.pipeline import service as pipeline
from analytics.pipeline.model import UNASSIGNED
from analytics.reports import cost_review as report
from analytics.ui import costs as cc
from analytics.ui.context import app_picker, runtime, visible_apps
from analytics.ui.frame import freshness
from analytics.ui.timerange import preset_label

rt = runtime()
apps = app_picker(visible_apps(rt))
metric = st.sidebar.radio("Cost metric", list(METRICS), key="cost_metric",
                          help="AmortizedCost spreads upfront and monthly reservation fees "
                               "over the days they cover; UnblendedCost shows them when billed.")

st.title("Costs")
view = costs.cost_view(rt, apps, metric=metric)
st.caption(f"{metric} · month to date = {view.mtd.label} (complete days) vs the "
           f"{view.same_days.label} · forecast {view.level}% range to the end of {view.today:%B}"
           " · Cost Explorer data refreshes up to 3 times a day; cached 6 hours for every viewer")
freshness(view)
for w in view.budget_warnings:
    st.error(w, icon=":material/savings:")
for c in view.budget_cautions:
    st.warning(c)
for n in view.notes:
    st.info(n)

prev_month = f"{view.last_month.start:%b}"
cols = st.columns(len(view.apps) + 1)
for col, a in zip(cols, [*view.apps, view.total], strict=True):
    f = a.month_forecast
    moved = change(a.change_pct, prev_month)
    flat = moved is not None and moved[1] == "flat"
    col.metric(f"{a.label}: month to date", human(a.mtd, "$"), None if moved is None else moved[0],
               delta_color="off" if flat else "inverse", delta_arrow="off" if flat else "auto",
               border=True, help=f"Against the {view.same_days.label}")
    col.metric(f"{a.label}: {view.today:%B} forecast", "n/a" if f is None else human(f.mean, "$"),
               None if f is None else f"{view.level}%: {human(f.lower, '$')}–{human(f.upper, '$')}",
               delta_color="off", delta_arrow="off", border=True,
               help=("Cost Explorer forecasts per tag: untagged spend is in the Total's forecast"
                     if f is None else None if a.budget is None
                     else f"Budget {human(a.budget, '$')}"))
cc.show_table(tables.summary_table(view), "Month summary", extra=cc.forecast_columns(view.level))

st.subheader("Budget and forecast")
for a in view.apps:
    if a.budget is not None or a.month_forecast is not None:
        lines = tables.budget_lines(view, a)
        cc.show_chart(
            figures.budget_chart(
                lines, f"{a.label}: {view.today:%B} cumulative", budget=a.budget, level=view.level
            ),
            lines,
            f"{a.label} budget",
        )

st.subheader("Daily cost by service")
by_service = tables.daily_by_service(view.daily)
if len(by_service):
    first, last = by_service["start"].min(), by_service["start"].max()
    st.caption(f"{first:%b %-d, %Y} → {last:%b %-d, %Y} · UTC days (Cost Explorer's) · a day "
               "that dwarfs the others (a monthly fee billed on the 1st in UnblendedCost) is cut, "
               "its total written on it; AmortizedCost spreads such fees over the month")
cc.show_chart(
    figures.stacked_daily(by_service, "service", "Daily cost by service (all shown apps)"),
    by_service,
    "Daily cost by service",
)

split_period = view.mtd if view.mtd.days else view.last_month
st.subheader(f"Split per app ({split_period.label})")
split = tables.split_by_app(view.daily, split_period, tables.names(view))
cc.show_chart(figures.app_split(split, "Cost per app"), split, "Split per app")
if view.untagged_share is not None:
    st.metric("Untagged share", f"{view.untagged_share:.1f}%", border=True,
              help="Spend without an Application tag: tag it to attribute it to an app.")

cur, prev = tables.movers_periods(view)
st.subheader(f"Top movers: {cur.label} vs {prev.label}")
movers = tables.top_movers(view.daily, cur, prev, labels=tables.names(view))
cc.show_chart(figures.movers_chart(movers, "Largest changes"), movers, "Top movers")

st.subheader("Anomalies")
if view.anomalies.empty:
    st.caption("No cost anomaly since the start of last month.")
else:
    cc.show_table(tables.anomaly_table(view), "Anomalies")

st.subheader("Long-term history")
span = st.radio("History range", list(HISTORY_PRESETS), horizontal=True, key="cost_history",
                format_func=preset_label)
hr = history_range(span, rt.now())
try:  # the rollups table may be unreachable (not deployed yet): the rest of the page stays
    past = history.cost_days(rt, apps, start=hr.start.date(), end=hr.end.date(),
                             today=view.today, metric=metric)
except UpstreamError as exc:
    st.warning(f"The long-term history is unavailable right now: {exc}")
else:
    freshness(past)
    by_app = past.frame.groupby(["start", "app"], as_index=False)[["amount"]].sum()
    labels = tables.names(view) | {UNASSIGNED: "Unassigned (untagged and other tags)"}
    by_app["app"] = [labels.get(a, a) for a in by_app["app"]]
    title = f"Daily cost per app, {preset_label(span).lower()}"
    cc.show_chart(figures.stacked_daily(by_app, "app", title), by_app, "Cost history")
    for key, segs in past.sources.items():
        st.caption(f"{labels.get(key, key)}: "
                   + " · ".join(s.describe() for s in segs))

st.subheader("Unit economics")
mau_rows = unit_economics.cost_per_mau(rt, view)
mau = unit_economics.mau_table(mau_rows)
for period in dict.fromkeys(r.period for r in mau_rows if r.note):
    missing = [r for r in mau_rows if r.period == period and r.note]
    for note in dict.fromkeys(r.note for r in missing):
        apps = ", ".join(r.label for r in missing if r.note == note)
        st.info(f"No {period} bars for {apps}: {note}", icon=":material/info:")
cc.show_chart(
    figures.mau_chart(mau, unit_economics.TARGET_PER_MAU_USD, "Cost per monthly active user"),
    mau,
    "Cost per MAU",
)
cc.show_table(unit_economics.cost_per_1k_requests(rt, view), "Cost per 1000 requests")

if is_admin():  # account-level, like the totals: admins of every app only (docs/auth.md)
    st.subheader("This dashboard's own AWS spend")
    spend = own_spend.own_spend(rt)
    if spend.backend != "aws":
        st.caption(f"The backend is {spend.backend}: no AWS API calls, so $0.00 today and "
                   "this month.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Today (estimate)", f"${spend.today_usd:,.4f}", border=True)
    c2.metric("Projected this month", f"${spend.month_projection_usd:,.2f}", border=True,
              help="Spend rate since the process started × hours in the month.")
    c3.metric("Since process start" if spend.scope == "this process" else "Since counted",
              f"${spend.total_usd:,.4f}", border=True,
              help=f"API calls of {spend.scope} (the shared cache tier adds up every task's).")
    own = next((a for a in view.apps if a.key == OWN_STACK), None)
    if own is not None:
        st.caption(f"Its stack (resources tagged Application=central-analytics): "
                   f"{human(own.mtd, '$')} month to date, {human(own.last_month, '$')} in "
                   f"{view.last_month.label}; the calls above are billed untagged.")
    if spend.unknown:
        st.caption(f"Price unknown (bytes scanned not counted): {', '.join(spend.unknown)}")
    cc.show_table(spend.table(), "Own AWS calls")

st.subheader("Weekly cost-review pack")
week = st.selectbox("Week", report.recent_weeks(view.today), key="report_week")
st.download_button(
    "Download the report (HTML)",
    report.html_download(rt, week, metric=metric, principal=access.current_principal()),
    file_name=f"cost-review-{week}.html",
    mime="text/html",
    on_click="ignore",
    key="report_download",
)
st.caption(f"Or from a shell: `python -m analytics.cli.report --week {week} --out reports/`")

if is_admin():  # a delivered pack holds every app: admins of every app only
    st.subheader("Delivered packs")
    packs = [p for p in pipeline.delivered_reports(rt) if p.fmt == "html"]
    if not packs:
        st.caption("The pipeline has delivered no pack yet (weekly on Mondays, monthly on the "
                   "1st; `python -m analytics.pipeline run --week 2026-W47` builds one now).")
    for pack in packs[:12]:
        st.download_button(
            f"{pack.kind.title()} {pack.label} ({pack.size / 1024:,.0f} KB)",
            lambda key=pack.key: pipeline.report_bytes(rt, key),
            file_name=pack.key.rsplit("/", 1)[-1], mime="text/html", on_click="ignore",
            key=f"pack-{pack.key}")
