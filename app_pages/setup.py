"""Setup (admins): the doctor's checks of this deployment, the rows `python -m analytics.doctor`
prints — run inside the dashboard, so on aws every IAM row is the task role's own permission."""

import streamlit as st

from analytics.core.fmt import clock
from analytics.doctor import service as doctor
from analytics.ui.context import runtime
from analytics.ui.frame import freshness

rt = runtime()
st.title("Setup")
st.caption("✓ fine · ✗ the dashboard shows wrong or empty data until fixed · ⚠ works, worth a "
           "look (or could not be checked). What each ✗ means: docs/deploy.md, “The doctor”.")
rerun = st.button("Run the checks again", key="doctor_rerun",
                  help="On aws a run makes a few dozen read calls, one tiny Logs Insights "
                       "query and four Cost Explorer requests ($0.04); it is kept 5 minutes.")
result = doctor.setup_report(rt, rerun=rerun)
freshness(result)
report = result.value
st.subheader(f"{report.summary} · {report.backend} backend ({report.where})")
st.caption(f"Checked at {clock(result.fetched_at)} · exit code of the same run in a shell: "
           f"{report.exit_code}")
rows = report.frame()
failing = rows[rows["status"] == "✗"]
if len(failing):
    st.error(f"{len(failing)} check(s) failed: " + "; ".join(failing["check"]))
st.dataframe(rows, hide_index=True, width="stretch", height="content",
             column_config={"status": st.column_config.TextColumn("", width="small"),
                            "found": st.column_config.TextColumn("found", width="large"),
                            "fix": st.column_config.TextColumn("fix", width="large")})
