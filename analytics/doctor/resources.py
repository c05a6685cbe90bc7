"""Does every resource of the catalog exist, under the name its metrics are keyed by?

A typo in apps.toml, a renamed REST API (its metrics are keyed by the *name*), a missing stage
or a function logging in a way the cold-start query cannot read all show up as empty charts,
never as errors — so each gets a row here, with the fix.
"""

from __future__ import annotations

from collections.abc import Iterator

from analytics.core.catalog import Api, App, Catalog
from analytics.doctor.calls import REDEPLOY, Call, Calls
from analytics.doctor.checks import Check, failed, passed, warned
from analytics.metrics.queries import S3_STORAGE_TYPES
from analytics.performance.insights import default_log_group, setup_from_configuration

TAG_KEY = "Application"
QUERY_PROBE = "fields @timestamp | limit 1"


def _missing(name: str, what: str, outcome: Call, fix: str) -> Check:
    if outcome.denied:
        return failed(name, f"cannot read {what}: {outcome.error}", REDEPLOY)
    if outcome.allowed:
        return failed(name, f"no {what} in this account and region ({outcome.code})", fix)
    return warned(name, f"could not check {what}: {outcome.error}")


def catalog_checks(call: Calls, catalog: Catalog) -> Iterator[Check]:
    for app in catalog.apps:
        fix = f"correct [apps.{app.id}.resources] in apps.toml"
        if app.resources.empty:
            yield _discovered(call, app)
        for api in app.resources.apis:
            yield from _api(call, app, api, fix)
        for fn in app.resources.lambdas:
            got = call("lambda", "get_function_configuration", FunctionName=fn)
            runtime = (got.answer or {}).get("Runtime", "?")
            yield (passed(f"{app.id}: function {fn}", f"exists ({runtime})") if got.ok else
                   _missing(f"{app.id}: function {fn}", f"function {fn}", got, fix))
        for table in app.resources.dynamodb_tables:
            got = call("dynamodb", "describe_table", TableName=table)
            yield (passed(f"{app.id}: table {table}", "exists") if got.ok else
                   _missing(f"{app.id}: table {table}", f"table {table}", got, fix))
        for db in app.resources.rds_instances:
            got = call("rds", "describe_db_instances", DBInstanceIdentifier=db)
            dbs = (got.answer or {}).get("DBInstances") or [{}]
            yield (passed(f"{app.id}: RDS {db}", f"exists ({dbs[0].get('Engine', '?')}, "
                                                 f"{dbs[0].get('DBInstanceStatus', '?')})")
                   if got.ok else _missing(f"{app.id}: RDS {db}", f"instance {db}", got, fix))
        for bucket in app.resources.s3_buckets:
            yield _bucket(call, app, bucket)


def _discovered(call: Calls, app: App) -> Check:
    name = f"{app.id}: resources"
    got = call("resourcegroupstaggingapi", "get_resources",
               TagFilters=[{"Key": TAG_KEY, "Values": [app.cost_tag]}], ResourcesPerPage=100)
    if not got.ok:
        return _missing(name, f"resources tagged {TAG_KEY}={app.cost_tag}", got, "")
    n = len((got.answer or {}).get("ResourceTagMappingList", []))
    found = f"none listed in apps.toml; {n} tagged {TAG_KEY}={app.cost_tag} (discovered)"
    return passed(name, found) if n else warned(
        name, found, f"list them in apps.toml or tag them {TAG_KEY}={app.cost_tag}")


def _api(call: Calls, app: App, api: Api, fix: str) -> Iterator[Check]:
    name = f"{app.id}: API {api.name}"
    if api.kind == "rest":
        got = call("apigateway", "get_rest_api", restApiId=api.id)
        if not got.ok:
            yield _missing(name, f"REST API {api.id}", got, fix)
            return
        actual = str((got.answer or {}).get("name"))
        if actual != api.name:
            yield failed(name, f"REST API {api.id} is named {actual!r}, apps.toml says "
                         f"{api.name!r}: REST metrics are keyed by the name, so its charts "
                         "are empty", f'set name = "{actual}" in apps.toml')
            return
        stages = call("apigateway", "get_stages", restApiId=api.id)
        names = [s.get("stageName") for s in (stages.answer or {}).get("item", [])]
    else:
        got = call("apigatewayv2", "get_api", ApiId=api.id)
        if not got.ok:
            yield _missing(name, f"HTTP API {api.id}", got, fix)
            return
        stages = call("apigatewayv2", "get_stages", ApiId=api.id)
        names = [s.get("StageName") for s in (stages.answer or {}).get("Items", [])]
    if not stages.ok:
        yield warned(name, f"{api.kind.upper()} API {api.id} exists; stages unreadable: "
                     f"{stages.error}")
    elif api.stage_given and api.stage not in names:
        yield failed(name, f"{api.kind.upper()} API {api.id} has no stage {api.stage!r} "
                     f"(stages: {', '.join(map(str, names)) or 'none'})",
                     f"set stage to one of them in apps.toml ({fix})")
    else:
        yield passed(name, f"{api.kind.upper()} API {api.id}, stage {api.stage}")


def _bucket(call: Calls, app: App, bucket: str) -> Check:
    name = f"{app.id}: bucket {bucket}"
    got = call("cloudwatch", "list_metrics", Namespace="AWS/S3", MetricName="BucketSizeBytes",
               Dimensions=[{"Name": "BucketName", "Value": bucket}])
    if not got.ok:
        return _missing(name, f"storage metrics of {bucket}", got, "")
    types = sorted({d["Value"] for m in (got.answer or {}).get("Metrics", [])
                    for d in m.get("Dimensions", []) if d.get("Name") == "StorageType"})
    if not types:
        return warned(name, "no storage metrics: the bucket is missing, empty, or younger "
                      "than a day (S3 publishes sizes daily)", "check the name in apps.toml")
    other = [t for t in types if t not in S3_STORAGE_TYPES]
    return passed(name, f"storage types {', '.join(types)}"
                  + (f" (per-object overheads not summed: {', '.join(other)})" if other else ""))


def log_setup_checks(call: Calls, catalog: Catalog) -> Iterator[Check]:
    """Each catalog function's log format and group, as the cold-start query will read them."""
    for app in catalog.apps:
        for fn in app.resources.lambdas:
            got = call("lambda", "get_function_configuration", FunctionName=fn)
            if not got.ok:
                continue  # the function check above says why
            setup = setup_from_configuration(fn, got.answer or {})
            name = f"{app.id}: logs of {fn}"
            if setup.reports_dropped:
                yield failed(name, f"JSON logs at system level {setup.system_log_level}: no "
                             "platform.report records, so cold starts read 0",
                             "set the function's SystemLogLevel to INFO")
            elif setup.log_group != default_log_group(fn) and not setup.log_group.startswith(
                    "/aws/lambda/"):
                probe = call("logs", "start_query", logGroupName=setup.log_group,
                             queryString=QUERY_PROBE, startTime=0, endTime=1, limit=1)
                if probe.ok:
                    call("logs", "stop_query", queryId=(probe.answer or {}).get("queryId"))
                yield (failed(name, f"{setup.kind}: the role may not query {setup.log_group} "
                              f"({probe.code})", "deploy with -c log_group_patterns="
                              f"{setup.log_group} (or a pattern covering it)")
                       if probe.denied else passed(name, setup.kind))
            else:
                yield passed(name, f"{setup.kind} in {setup.log_group}"
                             if setup.log_group == default_log_group(fn) else setup.kind)
