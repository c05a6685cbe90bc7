"""The doctor on a live AWS account: harmless reads proving the dashboard will see real data.

What a reader gets wrong: every IAM row checks the *caller's* permissions. Run with an
administrator's credentials, they all pass; run as the dashboard's task role (the Setup page
does, inside the dashboard; ``aws ecs run-task`` with the command overridden does from a
shell) they tell what the dashboard itself may do. A run costs four Cost Explorer requests
($0.04) and one Logs Insights query over five minutes of one log group.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from analytics.core.aws_clients import AwsClients
from analytics.core.catalog import Catalog
from analytics.core.periods import align_down, utcnow
from analytics.core.settings import Settings
from analytics.doctor.calls import REDEPLOY, Call, Calls, action_row
from analytics.doctor.checks import NOT_CHECKED, Check, Status, failed, passed, warned
from analytics.doctor.probes import LOGS_ACTIONS, iam_rows
from analytics.doctor.resources import catalog_checks, log_setup_checks

TAG_KEY = "Application"
HIGH_COST_ALARM = "central-analytics-HighCost"
BILLING_REGION = "us-east-1"
TEST_QUERY = "fields @timestamp | limit 1"


class AwsDoctor:
    """Checks of one account and region; time and sleep are injected for the test query."""

    def __init__(self, *, clients: AwsClients, settings: Settings,
                 now: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep,
                 poll_s: float = 1.0) -> None:
        self.clients = clients
        self.settings = settings
        self.now, self.sleep, self.poll_s = now, sleep, poll_s
        via = f" via {settings.endpoint_url}" if settings.endpoint_url else ""
        self.where = f"{settings.region}{via}"

    def checks(self, catalog: Catalog) -> list[Check]:
        call = Calls(self.clients)
        identity = self._identity(call)
        if identity.status is Status.FAIL:
            return [identity, failed(NOT_CHECKED, "not checked: AWS did not answer",
                                     "fix the identity check first")]
        logs = list(self._logs_insights(call, catalog))
        return [identity, *iam_rows(call, catalog, settings=self.settings, now=self.now(),
                                    logs={c.name: c for c in logs}),
                *self._metrics_table(call), *catalog_checks(call, catalog),
                *log_setup_checks(call, catalog), self._cost_tag(call),
                self._billing(call), *(c for c in logs if c.name not in LOGS_ACTIONS)]

    # -- identity ----------------------------------------------------------------------------
    def _identity(self, call: Calls) -> Check:
        who = call("sts", "get_caller_identity")
        name = "Region and identity"
        if not who.ok:
            return failed(name, f"no answer from STS in {self.where}: {who.error}",
                          "set AWS_REGION and credentials (on ECS: the task role); "
                          "check AWS_ENDPOINT_URL if set")
        assert who.answer is not None
        return passed(name, f"account {who.answer.get('Account')} as {who.answer.get('Arn')}"
                            f" · region {self.where}")

    # -- the metrics table -------------------------------------------------------------------
    def _metrics_table(self, call: Calls) -> Iterator[Check]:
        table = self.settings.metrics_table
        name = f"Metrics table {table}"
        described = call("dynamodb", "describe_table", TableName=table)
        if not described.ok:
            yield failed(name, f"not readable: {described.error}",
                         "set METRICS_TABLE to the stack's MetricsTableName output"
                         if described.allowed else REDEPLOY)
            return
        assert described.answer is not None
        desc = described.answer["Table"]
        types = {a["AttributeName"]: a["AttributeType"]
                 for a in desc.get("AttributeDefinitions", [])}
        keys = [(k["AttributeName"], k["KeyType"], types.get(k["AttributeName"]))
                for k in desc.get("KeySchema", [])]
        want = [("metricId", "HASH", "S"), ("timestamp", "RANGE", "N")]
        yield (passed(name, "keys metricId (S) + timestamp (N)") if keys == want else
               failed(name, f"keys {keys}, expected {want}",
                      "point METRICS_TABLE at the table the stack created"))
        ttl = call("dynamodb", "describe_time_to_live", TableName=table)
        spec = (ttl.answer or {}).get("TimeToLiveDescription", {})
        yield (passed(f"{name}: TTL", "on attribute ttl")
               if spec.get("TimeToLiveStatus") == "ENABLED" and spec.get("AttributeName") == "ttl"
               else warned(f"{name}: TTL", f"not enabled on ttl ({spec or ttl.error})",
                           "enable TTL on attribute ttl, or items are kept (and billed) forever"))
        backups = call("dynamodb", "describe_continuous_backups", TableName=table)
        pitr = ((backups.answer or {}).get("ContinuousBackupsDescription", {})
                .get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus"))
        yield (passed(f"{name}: PITR", "point-in-time recovery enabled (RPO ≈ 5 min)")
               if pitr == "ENABLED" else
               failed(f"{name}: PITR", f"point-in-time recovery {pitr or backups.error}",
                      "enable PITR (the stack does): without it the documented restore fails"))

    # -- costs -------------------------------------------------------------------------------
    def _cost_tag(self, call: Calls) -> Check:
        name = f"Cost-allocation tag {TAG_KEY}"
        got = call("ce", "list_cost_allocation_tags", TagKeys=[TAG_KEY], Type="UserDefined")
        if not got.ok:
            return (failed(name, f"refused: {got.error}", REDEPLOY) if got.denied else
                    warned(name, f"could not tell: {got.error}"))
        assert got.answer is not None
        status = next((t.get("Status") for t in got.answer.get("CostAllocationTags", [])
                       if t.get("TagKey") == TAG_KEY), None)
        if status == "Active":
            return passed(name, "active: Cost Explorer groups costs by app")
        return failed(name, "inactive" if status else "never seen by billing",
                      f"Billing → Cost allocation tags → activate {TAG_KEY} (or aws ce "
                      f"update-cost-allocation-tags-status --cost-allocation-tags-status "
                      f"TagKey={TAG_KEY},Status=Active); until then every app reads $0")

    def _billing(self, call: Calls) -> Check:
        name = "Billing alerts (HighCost alarm)"
        if self.settings.region != BILLING_REGION:
            return warned(name, f"the stack is in {self.settings.region}: AWS/Billing metrics "
                          "exist only in us-east-1, so the stack creates no HighCost alarm",
                          "watch spend with an AWS Budget, or deploy the alarm in us-east-1")
        metrics = call("cloudwatch", "list_metrics", region=BILLING_REGION,
                       Namespace="AWS/Billing", MetricName="EstimatedCharges")
        alarm = call("cloudwatch", "describe_alarms", region=BILLING_REGION,
                     AlarmNames=[HIGH_COST_ALARM])
        if not metrics.ok or not alarm.ok:
            return warned(name, f"could not tell: {metrics.error or alarm.error}")
        assert metrics.answer is not None and alarm.answer is not None
        found = alarm.answer.get("MetricAlarms", [])
        state = f"{HIGH_COST_ALARM} is {found[0].get('StateValue')}" if found else \
            f"no alarm {HIGH_COST_ALARM}"
        if not metrics.answer.get("Metrics"):
            return failed(name, f"no AWS/Billing EstimatedCharges metric; {state}",
                          "Billing preferences → Receive CloudWatch billing alerts (the "
                          "HighCost alarm stays INSUFFICIENT_DATA without it)")
        if not found:
            return warned(name, f"billing metrics published; {state}", "deploy the stack")
        return passed(name, f"billing metrics published; {state}")

    # -- Logs Insights -----------------------------------------------------------------------
    def _logs_insights(self, call: Calls, catalog: Catalog) -> Iterator[Check]:
        """A one-line query over the last 5 minutes of the first log group that exists; also
        the rows of the three logs actions (StartQuery, GetQueryResults, StopQuery)."""
        name = "Logs Insights test query"
        groups = [_log_group(call, fn) for app in catalog.apps for fn in app.resources.lambdas]
        if not groups:
            yield warned(name, "no function in the catalog to query",
                         "list lambdas in apps.toml, or rely on tag discovery")
            for action in LOGS_ACTIONS:
                yield warned(action, "not tried: no log group to query")
            return
        end = align_down(self.now(), 60)
        start: Call | None = None
        for group in groups:
            start = call("logs", "start_query", logGroupName=group, queryString=TEST_QUERY,
                         startTime=int((end - timedelta(minutes=5)).timestamp()),
                         endTime=int(end.timestamp()), limit=1)
            if start.code != "ResourceNotFoundException":
                break
        assert start is not None
        yield action_row("logs:StartQuery", start, f"on {group}")
        if not start.ok:
            yield (warned(name, f"no log group exists yet ({', '.join(groups)})",
                          "invoke a function once, then run the doctor again")
                   if start.allowed else failed(name, f"could not start on {group}: "
                                                f"{start.error}", REDEPLOY))
            for action in LOGS_ACTIONS[1:]:
                yield warned(action, "not tried: no query started")
            return
        assert start.answer is not None
        qid = start.answer["queryId"]
        status, results = "", Call(None, "NotPolled")
        waited = 0.0
        while waited <= self.settings.logs_query_timeout_s:
            results = call.again("logs", "get_query_results", queryId=qid)
            status = str((results.answer or {}).get("status", ""))
            if not results.ok or status not in ("Scheduled", "Running"):
                break
            self.sleep(self.poll_s)
            waited += self.poll_s
        yield action_row("logs:GetQueryResults", results, "")
        stop = call("logs", "stop_query", queryId=qid)  # done already: proves the permission
        yield action_row("logs:StopQuery", stop, "")
        if status == "Complete":
            yield passed(name, f"completed on {group} after {waited:g} s")
        else:
            yield failed(name, f"{group}: {status or results.error} after {waited:g} s",
                         "check the Logs Insights console; raise LOGS_QUERY_TIMEOUT_S")


def _log_group(call: Calls, function: str) -> str:
    config = call("lambda", "get_function_configuration", FunctionName=function)
    logging = (config.answer or {}).get("LoggingConfig") or {}
    return str(logging.get("LogGroup") or f"/aws/lambda/{function}")
