"""Plotly figures of the Costs page and the cost-review pack: the pack draws the page's charts.

Legends sit under the plot, clear of the date ticks; days are UTC days (Cost Explorer's).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.figures.theme import TEMPLATE

BUDGET_COLOR = "#d62728"
TARGET_COLOR = "#d62728"
FORECAST_COLOR = "#1f77b4"
_LAYOUT: dict[str, Any] = {"template": TEMPLATE,
                           "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 380,
                           "legend": {"orientation": "h", "yanchor": "top", "y": -0.12}}
#: Daily bars: one-line ticks (the range's year is in the page's caption).
_DAY_AXIS: dict[str, Any] = {"type": "date", "tickformat": "%b %-d"}
#: A day this many times the typical day (90th percentile) is cut, its total written on it.
SPIKE_FACTOR = 2.0


def spike_cap(totals: pd.Series) -> float | None:
    """The y-axis top that keeps ordinary days readable, or None when no day towers over them.

    A reserved-instance fee billed on the 1st is ten ordinary days in one bar: drawn to scale it
    flattens every other bar. Cut at twice the 90th-percentile day, those bars are labelled.
    """
    if len(totals) < 5:
        return None
    typical = float(totals.quantile(0.9))
    top = float(totals.max())
    if typical <= 0 or top <= SPIKE_FACTOR * typical:
        return None
    return SPIKE_FACTOR * typical * 1.1


def _fig(title: str) -> go.Figure:
    # Built with its layout in one go: update_layout on a made figure revalidates every path.
    return go.Figure(layout={"title": title, **_LAYOUT})


def stacked_daily(frame: pd.DataFrame, by: str, title: str) -> go.Figure:
    """Daily stacked bars of ``amount`` per ``by`` (service or app)."""
    fig = _fig(title)
    if frame.empty:
        return fig
    totals = frame.groupby(by)["amount"].sum().sort_values(ascending=False)
    for key in totals.index:
        rows = frame[frame[by] == key].sort_values("start")
        fig.add_bar(x=[str(d) for d in rows["start"]], y=rows["amount"], name=str(key),
                    hovertemplate="%{x|%b %-d}: $%{y:,.2f}<extra>" + str(key) + "</extra>")
    fig.update_layout(barmode="stack", yaxis_title="USD per day", xaxis=_DAY_AXIS)
    per_day = frame.groupby("start")["amount"].sum()
    cap = spike_cap(per_day)
    if cap is not None:
        fig.update_yaxes(range=[0, cap])
        for day, total in per_day[per_day > cap].items():
            fig.add_annotation(x=str(day), y=cap, text=f"↑ ${total:,.0f}", showarrow=False,
                               yanchor="top", font={"size": 11, "color": "#31333f"},
                               bgcolor="rgba(255,255,255,0.85)")
    return fig


def app_split(split: pd.DataFrame, title: str) -> go.Figure:
    fig = _fig(title)
    if not split.empty:
        fig.add_bar(x=split["app"], y=split["amount"], text=[f"{s:.1f}%" for s in
                                                             split["share_pct"]],
                    hovertemplate="%{x}: $%{y:,.2f}<extra></extra>")
    fig.update_layout(yaxis_title="USD", showlegend=False)
    return fig


def budget_chart(lines: pd.DataFrame, title: str, *, budget: float | None, level: int) -> go.Figure:
    """Cumulative month spend: actual, forecast with its range, the budget as a line."""
    fig = _fig(title)
    if lines.empty:
        return fig
    x = [str(d) for d in lines["day"]]
    actual = lines["actual_usd"]
    fig.add_scatter(x=x, y=actual, mode="lines+markers", name="actual (cumulative)",
                    connectgaps=False)
    if lines["forecast_usd"].notna().any():
        fig.add_scatter(x=x, y=lines["high_usd"], mode="lines", line={"width": 0},
                        showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=x, y=lines["low_usd"], mode="lines", line={"width": 0},
                        fill="tonexty", fillcolor="rgba(31,119,180,0.18)",
                        name=f"forecast {level}% range")
        fig.add_scatter(x=x, y=lines["forecast_usd"], mode="lines", name="forecast",
                        line={"dash": "dash", "color": FORECAST_COLOR})
    if budget is not None:
        fig.add_hline(y=budget, line={"color": BUDGET_COLOR, "dash": "dot"},
                      annotation_text=f"budget ${budget:,.0f}", annotation_position="top left")
    fig.update_layout(yaxis_title="USD this month", xaxis=_DAY_AXIS)
    return fig


def movers_chart(movers: pd.DataFrame, title: str) -> go.Figure:
    fig = _fig(title)
    if not movers.empty:
        labels = [f"{a} · {s}" for a, s in zip(movers["app"], movers["service"], strict=True)]
        fig.add_bar(y=labels[::-1], x=movers["change_usd"][::-1], orientation="h",
                    marker_color=["#d62728" if v > 0 else "#2ca02c"
                                  for v in movers["change_usd"][::-1]],
                    hovertemplate="%{y}: %{x:+,.2f} USD<extra></extra>")
    fig.update_layout(xaxis_title="change, USD", showlegend=False)
    return fig


def mau_chart(table: pd.DataFrame, target: float, title: str) -> go.Figure:
    """Cost per MAU per app and month, the target drawn as a line."""
    fig = _fig(title)
    known = table[table["cost_per_mau_usd"].notna()]
    for period in dict.fromkeys(known["period"]):  # a month without a known MAU has no bars
        rows = known[known["period"] == period]
        fig.add_bar(x=rows["app"], y=rows["cost_per_mau_usd"], name=str(period),
                    showlegend=True, hovertemplate="%{x}: $%{y:,.3f} per MAU<extra>"
                    + str(period) + "</extra>")
    fig.add_hline(y=target, line={"color": TARGET_COLOR, "dash": "dot"},
                  annotation_text=f"target ${target:.2f}", annotation_position="top left")
    fig.update_layout(barmode="group", yaxis_title="USD per MAU")
    return fig
