"""Which log group and which Logs Insights query count a function's cold starts.

A function's logs are not always plain text in ``/aws/lambda/<name>``: its ``LoggingConfig``
(GetFunctionConfiguration) may name a custom log group and the JSON format, where the REPORT
line becomes a ``platform.report`` record with ``record.metrics.initDurationMs``; and a SnapStart
function restores from a snapshot instead of initialising, reporting ``@restoreDuration``. A
query for the wrong shape matches nothing and reads as "0 cold starts", so the query is chosen
per function from its configuration and each row says which kind it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEXT, JSON = "Text", "JSON"
#: The fields each log format gives a REPORT: (filter, init duration, restore duration).
_FIELDS = {
    TEXT: ('@type = "REPORT"', "@initDuration", "@restoreDuration"),
    JSON: ('type = "platform.report"', "record.metrics.initDurationMs",
           "record.metrics.restoreDurationMs"),
}


def default_log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def cold_start_query(log_format: str = TEXT, *, snapstart: bool = False) -> str:
    """The stats query over one function's REPORT records in ``log_format``.

    Always one row: ``invocations``, ``coldStarts`` and ``initP50``/``initP95``; a SnapStart
    function's restores count as cold starts too (``restores``, ``restoreP50``/``restoreP95``).
    """
    where, init, restore = _FIELDS[log_format]
    stats = (f"count(*) as invocations, count({init}) as coldStarts, "
             f"pct({init}, 50) as initP50, pct({init}, 95) as initP95")
    if snapstart:
        stats += (f", count({restore}) as restores, pct({restore}, 50) as restoreP50, "
                  f"pct({restore}, 95) as restoreP95")
    return f"filter {where}\n| stats {stats}"


@dataclass(frozen=True)
class LogSetup:
    """Where a function's REPORT records are and in which shape."""

    function: str
    log_group: str
    log_format: str = TEXT
    snapstart: bool = False
    #: JSON format only: below INFO (WARN, ERROR…) no platform.report record is written.
    system_log_level: str | None = None
    note: str = ""  # why the setup is assumed rather than read
    missing: bool = False  # the function does not exist

    @property
    def reports_dropped(self) -> bool:
        return self.log_format == JSON and self.system_log_level not in (None, "DEBUG", "INFO")

    @property
    def kind(self) -> str:
        """What the row was counted from, for the table's ``log_source`` column."""
        what = "JSON platform.report" if self.log_format == JSON else "text REPORT"
        if self.snapstart:
            what += " + SnapStart restores"
        if self.log_group != default_log_group(self.function):
            what += f" in {self.log_group}"
        return what

    @property
    def query(self) -> str:
        return cold_start_query(self.log_format, snapstart=self.snapstart)


def default_setup(function: str, *, note: str = "") -> LogSetup:
    """Lambda's defaults: text logs in ``/aws/lambda/<function>``, no SnapStart."""
    return LogSetup(function, default_log_group(function), note=note)


def setup_from_configuration(function: str, config: dict[str, Any]) -> LogSetup:
    """The setup from a GetFunctionConfiguration answer."""
    logging = config.get("LoggingConfig") or {}
    snap = config.get("SnapStart") or {}
    return LogSetup(
        function, str(logging.get("LogGroup") or default_log_group(function)),
        JSON if logging.get("LogFormat") == JSON else TEXT,
        snap.get("ApplyOn") == "PublishedVersions",
        str(logging["SystemLogLevel"]) if logging.get("SystemLogLevel") else None)
