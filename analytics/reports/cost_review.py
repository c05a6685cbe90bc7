"""The cost-review pack: ``python -m analytics.cli.report --week 2026-W47 [--out DIR]``.

The same pack exists per calendar month (:func:`build_month_report`, built by the pipeline on
the 1st) with the month against the month before.

Writes ``cost-review-<week>.html`` (self-contained: plotly.js is inlined once, so the file opens
offline and can be mailed) and ``cost-review-<week>.md`` (the summary for the meeting notes),
both from the same cached queries the Costs page uses (:mod:`analytics.costs.queries`,
:mod:`analytics.costs.service`): the week against the week before, per app and per service, daily
bars, top movers, the untagged share, the week's anomalies, and the month's budget status as of
today. Days after yesterday are not in the pack (today is still an estimate); a week that has
not started yet is refused with a message. Run from the CLI there is no signed-in user, so the
pack holds every app and the untagged spend; the page's download button builds it for the
signed-in user's apps only.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from analytics.core import access
from analytics.core.cache import UpstreamError
from analytics.costs import queries as cost_queries
from analytics.costs.forecast import previous_month
from analytics.costs.frames import DEFAULT_METRIC, METRICS
from analytics.costs.model import Period
from analytics.costs.queries import OWN_STACK, OWN_STACK_LABEL, UNTAGGED, CostsRuntime, is_admin
from analytics.costs.service import cost_view
from analytics.costs.tables import daily_by_service, summary_table, top_movers
from analytics.figures import costs as cost_figures

WEEK_RE = re.compile(r"^(\d{4})-W(\d{1,2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MAX_AGE_DAYS = 13 * 30  # Cost Explorer keeps 13 months of DAILY data


class ReportError(ValueError):
    """The week asked for cannot be reported; the message says why."""


def parse_week(text: str) -> tuple[date, date]:
    """``"2026-W47"`` -> (Monday 2026-11-16, next Monday 2026-11-23), ISO weeks."""
    m = WEEK_RE.match(text.strip())
    if not m:
        raise ReportError(f"week {text!r}: expected an ISO week such as 2026-W47")
    try:
        start = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise ReportError(f"week {text!r}: {exc}") from exc
    return start, start + timedelta(days=7)


def parse_month(text: str) -> tuple[date, date]:
    """``"2026-10"`` -> (2026-10-01, 2026-11-01)."""
    m = MONTH_RE.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ReportError(f"month {text!r}: expected a month such as 2026-10")
    start = date(int(m.group(1)), int(m.group(2)), 1)
    return start, (start + timedelta(days=32)).replace(day=1)


def week_label(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def recent_weeks(today: date, *, n: int = 8) -> list[str]:
    """The ``n`` latest ISO weeks with at least one complete day, newest first."""
    last = today - timedelta(days=1)
    return [week_label(last - timedelta(days=7 * i)) for i in range(n)]


@dataclass
class WeekReport:
    week: str
    period: Period  # the week's reported days (clipped to yesterday)
    previous: Period
    today: date
    metric: str
    daily: pd.DataFrame  # start, service, app, amount over previous + this week
    per_app: pd.DataFrame
    by_service: pd.DataFrame
    movers: pd.DataFrame
    anomalies: pd.DataFrame
    budget: pd.DataFrame
    untagged_share: float | None
    notes: list[str]
    kind: str = "week"  # or "month": the same pack over a calendar month

    @property
    def total(self) -> float:
        return float(self.daily[self.period.mask(self.daily["start"])]["amount"].sum())

    @property
    def previous_total(self) -> float:
        return float(self.daily[self.previous.mask(self.daily["start"])]["amount"].sum())


def _compare(daily: pd.DataFrame, cur: Period, prev: Period, by: str) -> pd.DataFrame:
    a = daily[cur.mask(daily["start"])].groupby(by)["amount"].sum().rename("week_usd")
    b = daily[prev.mask(daily["start"])].groupby(by)["amount"].sum().rename("previous_week_usd")
    out = pd.concat([a, b], axis=1).fillna(0.0).reset_index().rename(columns={"index": by})
    out["change_usd"] = out["week_usd"] - out["previous_week_usd"]
    out["change_pct"] = [None if p == 0 else round((w - p) / p * 100.0, 1)
                         for w, p in zip(out["week_usd"], out["previous_week_usd"], strict=True)]
    for col in ("week_usd", "previous_week_usd", "change_usd"):
        out[col] = out[col].round(2)
    return out.sort_values("week_usd", ascending=False, ignore_index=True)


def build_week_report(rt: CostsRuntime, week: str, *, today: date | None = None,
                      metric: str = DEFAULT_METRIC) -> WeekReport:
    """The pack's tables for ``week`` (e.g. ``"2026-W47"``) and the current principal."""
    day = today or cost_queries.as_day(rt.now())
    start, end = parse_week(week)
    _check(f"week {week}", start, day, metric)
    cur = Period(start, min(end, day), f"{week}")
    prev = Period(start - timedelta(days=7), start, f"{week_label(start - timedelta(days=7))}")
    notes = [] if cur.end == end else [f"Partial week: {cur.start} to {cur.end - timedelta(1)} "
                                       f"(today's costs are not final)."]
    return _build(rt, week, cur, prev, day=day, metric=metric, notes=notes)


def build_month_report(rt: CostsRuntime, month: str, *, today: date | None = None,
                       metric: str = DEFAULT_METRIC) -> WeekReport:
    """The same pack for a calendar month (``"2026-10"``) against the month before."""
    day = today or cost_queries.as_day(rt.now())
    start, end = parse_month(month)
    _check(f"month {month}", start, day, metric)
    prev_start = previous_month(start)
    cur = Period(start, min(end, day), month)
    prev = Period(prev_start, start, f"{prev_start:%Y-%m}")
    notes = [] if cur.end == end else [f"Partial month: {cur.start} to "
                                       f"{cur.end - timedelta(1)} (today's costs are not final)."]
    return _build(rt, month, cur, prev, day=day, metric=metric, notes=notes, kind="month")


def _check(what: str, start: date, day: date, metric: str) -> None:
    if metric not in METRICS:
        raise ReportError(f"unknown metric {metric!r}; use one of {list(METRICS)}")
    if start >= day:
        raise ReportError(f"{what} has no complete day yet (it starts {start}, "
                          f"today is {day})")
    if (day - start).days > MAX_AGE_DAYS:
        raise ReportError(f"{what} is older than the 13 months Cost Explorer keeps")


def _build(rt: CostsRuntime, label: str, cur: Period, prev: Period, *, day: date, metric: str,
           notes: list[str], kind: str = "week") -> WeekReport:
    apps = access.filter_apps(rt.catalog.apps)
    cached = cost_queries.costs(rt, prev.start, cur.end, metric=metric)
    picked, admin = {a.id for a in apps}, is_admin()
    frame = cached.value
    daily = frame[
        cost_queries.scope_mask(
            frame["app"], app_ids=picked, catalog=rt.catalog, with_unassigned=admin
        )
    ]
    daily = daily.reset_index(drop=True)
    names = {a.id: a.display_name for a in apps} | {UNTAGGED: "Untagged",
                                                    OWN_STACK: OWN_STACK_LABEL}
    per_app = _compare(daily, cur, prev, "app")
    per_app.insert(1, "name", [names.get(a, a) for a in per_app["app"]])
    week_rows = daily[cur.mask(daily["start"])]
    total = float(week_rows["amount"].sum())
    untagged = (float(week_rows.loc[week_rows["app"] == UNTAGGED, "amount"].sum()) / total
                * 100.0) if admin and total else None
    try:
        an = cost_queries.anomalies(rt, cur.start, cur.end).value
        an = an[
            cost_queries.scope_mask(
                an["app"], app_ids=picked, catalog=rt.catalog, with_unassigned=admin
            )
        ]
        an = an.reset_index(drop=True)
    except UpstreamError as exc:
        an = pd.DataFrame()
        notes.append(f"Anomalies unavailable: {exc}")
    try:
        view = cost_view(rt, apps, today=day, metric=metric)
        budget = summary_table(view)
        notes += view.budget_warnings + view.notes
    except UpstreamError as exc:
        budget = pd.DataFrame()
        notes.append(f"Budget status unavailable: {exc}")
    return WeekReport(label, cur, prev, day, metric, daily, per_app,
                      _compare(daily, cur, prev, "service"), top_movers(daily, cur, prev),
                      an, budget, untagged, notes, kind)


# --- rendering ------------------------------------------------------------------------------

def _money(v: float) -> str:
    return f"${v:,.2f}"


def _md_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none_\n"
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = ["" if v is None or (isinstance(v, float) and v != v) else
                 (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_markdown(rep: WeekReport) -> str:
    last = rep.period.end - timedelta(days=1)
    out = [f"# Cost review {rep.week} ({rep.period.start} to {last})", "",
           f"Metric: {rep.metric}. Generated {rep.today} from the same queries as the Costs "
           "page.", "",
           f"**Total: {_money(rep.total)}** (previous {rep.kind} {_money(rep.previous_total)}, "
           f"change {_money(rep.total - rep.previous_total)})", ""]
    if rep.untagged_share is not None:
        out += [f"Untagged share: {rep.untagged_share:.1f}%", ""]
    out += ["## Per app", "", _md_table(rep.per_app), "## Per service", "",
            _md_table(rep.by_service), f"## Top movers (vs previous {rep.kind})", "",
            _md_table(rep.movers), "## Anomalies", "", _md_table(rep.anomalies),
            f"## Budget status ({rep.today:%B %Y}, as of {rep.today})", "",
            _md_table(rep.budget)]
    if rep.notes:
        out += ["## Notes", "", *[f"- {n}" for n in rep.notes], ""]
    return "\n".join(out)


def render_html(rep: WeekReport) -> str:
    last = rep.period.end - timedelta(days=1)
    week_daily = rep.daily[rep.period.mask(rep.daily["start"])]
    by_app = week_daily.groupby(["start", "app"], as_index=False)[["amount"]].sum()
    figs = [
        cost_figures.stacked_daily(by_app, "app", f"Daily cost per app, {rep.week}"),
        cost_figures.stacked_daily(daily_by_service(week_daily), "service",
                                  f"Daily cost per service, {rep.week}"),
        cost_figures.movers_chart(rep.movers, f"Top movers vs the previous {rep.kind}"),
    ]
    charts = [f.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
              for i, f in enumerate(figs)]
    e = html.escape

    def table(title: str, frame: pd.DataFrame) -> str:
        body = frame.to_html(index=False, na_rep="", float_format=lambda v: f"{v:,.2f}",
                             border=0, classes="t") if not frame.empty else "<p><i>none</i></p>"
        return f"<h2>{e(title)}</h2>{body}"

    untagged = "" if rep.untagged_share is None else \
        f"<p>Untagged share: <b>{rep.untagged_share:.1f}%</b></p>"
    notes = "".join(f"<li>{e(n)}</li>" for n in rep.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Cost review {e(rep.week)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table.t{{border-collapse:collapse;margin-bottom:1em}}
.t td,.t th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}}
.t td:first-child,.t th:first-child{{text-align:left}}</style></head><body>
<h1>Cost review {e(rep.week)}: {rep.period.start} to {last}</h1>
<p>Metric {e(rep.metric)} · generated {rep.today} · total <b>{_money(rep.total)}</b>
(previous {rep.kind} {_money(rep.previous_total)})</p>{untagged}
{"<ul>" + notes + "</ul>" if notes else ""}
{table("Per app", rep.per_app)}
{charts[0]}
{table("Per service", rep.by_service)}
{charts[1]}
{table(f"Top movers (vs previous {rep.kind})", rep.movers)}
{charts[2]}
{table("Anomalies", rep.anomalies)}
{table(f"Budget status ({rep.today:%B %Y}, as of {rep.today})", rep.budget)}
</body></html>
"""


def write_report(rt: CostsRuntime, week: str, *, out_dir: Path | str, today: date | None = None,
                 metric: str = DEFAULT_METRIC) -> tuple[Path, Path]:
    rep = build_week_report(rt, week, today=today, metric=metric)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"cost-review-{rep.week}.html"
    md_path = out / f"cost-review-{rep.week}.md"
    html_path.write_text(render_html(rep), encoding="utf-8")
    md_path.write_text(render_markdown(rep), encoding="utf-8")
    return html_path, md_path


def html_download(rt: CostsRuntime, week: str, *, metric: str = DEFAULT_METRIC,
                  principal: access.Principal | None = None) -> Callable[[], bytes]:
    """A deferred builder for the page's download button. Streamlit runs it on another thread,
    where the script run's principal is not bound, so it is captured here and bound there."""

    def build() -> bytes:
        result: list[bytes] = []

        def run() -> None:  # a fresh thread: nothing but this principal in its context
            access.set_principal(principal)
            result.append(render_html(build_week_report(rt, week, metric=metric)).encode())

        t = threading.Thread(target=run)
        t.start()
        t.join()
        if not result:
            raise ReportError(f"the report for {week} could not be built")
        return result[0]

    return build
