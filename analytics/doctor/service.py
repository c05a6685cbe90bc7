"""The doctor's one door for the CLI and the Setup page: the backend's checks, then the alarms.

The backend's source checks what it depends on (an account's permissions and resources, or the
local store and endpoint); the alarm check goes through the alarms service, so it finds alarms
exactly as the Alarms page does (by prefix or by tags, on either backend). The Setup page reads
a cached report (a run makes dozens of calls and four Cost Explorer requests) and is for
admins only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from analytics.alarms import service as alarms
from analytics.alarms.config import AlarmConfigError
from analytics.alarms.rules import ALARM
from analytics.alarms.source import HasAlarms
from analytics.core import access
from analytics.core.cache import Cached, UpstreamError
from analytics.core.runtime import HasBackend, RuntimeOf
from analytics.doctor.checks import NOT_CHECKED, Check, Report, failed, passed, warned
from analytics.doctor.source import HasDoctor

#: The Setup page's report is kept this long (the page has a button to run it again).
REPORT_TTL_S = 300.0


class DoctorSources(HasDoctor, HasAlarms, HasBackend, Protocol):
    """The sources the doctor reads."""


DoctorRuntime = RuntimeOf[DoctorSources]


def run_doctor(rt: DoctorRuntime) -> Report:
    """Every check, now (the CLI; the Setup page goes through :func:`setup_report`)."""
    checks = rt.sources.doctor.checks(rt.catalog)
    if not any(c.name == NOT_CHECKED for c in checks):
        checks += alarm_checks(rt)
    return Report(rt.sources.backend, rt.sources.doctor.where, tuple(checks))


def alarm_checks(rt: DoctorRuntime) -> Iterator[Check]:
    """Per app: the alarms the Alarms page would list, by prefix or by tags."""
    for app in rt.catalog.apps:
        name = f"{app.id}: alarms"
        try:
            cfg = alarms.config_for(rt, app)
            found = alarms.alarm_states(rt, [app])
        except AlarmConfigError as exc:
            yield failed(name, str(exc), "correct the [alarms] table in apps.toml")
            continue
        except UpstreamError as exc:
            yield failed(name, f"cannot list them: {exc}", "see the IAM rows above")
            continue
        how = (f"tags {', '.join(f'{k}={v}' for k, v in sorted(cfg.tags.items()))}"
               if cfg.tags else f"prefix {cfg.prefix!r}")
        n = len(found.value)
        if not n:
            yield warned(name, f"no alarm found by {how}",
                         f"name alarms {cfg.prefix}… or set [apps.{app.id}.alarms] tags")
        else:
            firing = sum(a.state == ALARM for a in found.value)
            yield passed(name, f"{n} found by {how}, {firing} in ALARM")


def setup_report(rt: DoctorRuntime, *, rerun: bool = False) -> Cached[Report]:
    """The Setup page's report, cached; admins only."""
    principal = access.current_principal()
    if principal is not None and principal.role != "admin":
        raise access.AccessDenied("the Setup page is for admins")
    if rerun:
        rt.cache.forget("doctor", "report")
    return rt.cache.get("doctor", "report", lambda: run_doctor(rt), ttl=REPORT_TTL_S)
