"""Is this recorded AWS call allowed by that synthesized IAM policy? (test helper)

Two pieces of knowledge kept apart from the code under test: which IAM action and resource ARN
AWS authorizes each call against (the Service Authorization Reference, restated here, not read
from :mod:`analytics.core.permissions`), and IAM's matching rules (``*`` and ``?`` in actions
and resources, ``StringEquals`` on ``aws:ResourceTag/<key>``). CloudFormation intrinsics in the
template are resolved for one account, region and metrics table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT = "123456789012"
PARTITION = "aws"
#: Calls AWS answers whatever the caller's policy says (STS's own documentation).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


@dataclass(frozen=True)
class Recorded:
    """One call as the client factory saw it."""

    api: str  # "<botocore service>.<Operation>"
    params: Mapping[str, Any]
    region: str


def _iam_action(api: str) -> str:
    service, _, op = api.partition(".")
    if service in ("apigateway", "apigatewayv2"):
        return "apigateway:GET"  # every read of either API is a GET on a path ARN
    prefix = {"resourcegroupstaggingapi": "tag"}.get(service, service)
    return f"{prefix}:{op}"


def authorization(call: Recorded) -> tuple[str, list[str]]:
    """(IAM action, resource ARNs) AWS checks for ``call``."""
    p, r, a = call.params, call.region, ACCOUNT
    op = call.api.partition(".")[2]
    service = call.api.partition(".")[0]
    if service == "dynamodb":
        tables = list(p["RequestItems"]) if "RequestItems" in p else [p["TableName"]]
        res = [f"arn:{PARTITION}:dynamodb:{r}:{a}:table/{t}" for t in tables]
    elif call.api == "logs.StartQuery":
        groups = p.get("logGroupNames") or [p["logGroupName"]]
        res = [f"arn:{PARTITION}:logs:{r}:{a}:log-group:{g}" for g in groups]
    elif service == "lambda":
        name = str(p["FunctionName"])
        res = [name if name.startswith("arn:") else
               f"arn:{PARTITION}:lambda:{r}:{a}:function:{name}"]
    elif service == "apigateway":
        path = f"/restapis/{p['restApiId']}" + ("/stages" if op == "GetStages" else "")
        res = [f"arn:{PARTITION}:apigateway:{r}::{path}"]
    elif service == "apigatewayv2":
        path = f"/apis/{p['ApiId']}" + ("/stages" if op == "GetStages" else "")
        res = [f"arn:{PARTITION}:apigateway:{r}::{path}"]
    elif service == "rds":
        res = [f"arn:{PARTITION}:rds:{r}:{a}:db:{p['DBInstanceIdentifier']}"]
    else:  # CloudWatch reads, logs results/stop, Cost Explorer, tagging, STS: no resource
        res = ["*"]
    return _iam_action(call.api), res


def resolve(value: Any, refs: Mapping[str, str]) -> Any:
    """Intrinsics -> text: Ref (pseudo parameters and logical ids), Fn::GetAtt, Fn::Join."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    if "Ref" in value:
        return refs[value["Ref"]]
    if "Fn::GetAtt" in value:
        return refs[".".join(value["Fn::GetAtt"])]
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(str(resolve(x, refs)) for x in parts)
    raise ValueError(f"unresolved intrinsic {value}")


def _match(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text) is not None


def _leading_keys(call: Recorded) -> list[str]:
    """The partition-key values one DynamoDB item call touches (the metrics table's metricId)."""
    items = [call.params.get("Key"), call.params.get("Item")]
    return [str(i["metricId"]["S"]) for i in items if isinstance(i, Mapping) and "metricId" in i]


def _conditions_hold(condition: Mapping[str, Any], tags: Mapping[str, str],
                     call: Recorded) -> bool:
    for operator, tests in condition.items():
        if operator == "ForAllValues:StringLike" and set(tests) == {"dynamodb:LeadingKeys"}:
            patterns = tests["dynamodb:LeadingKeys"]
            keys = _leading_keys(call)
            if not keys or not all(any(_match(p, k) for p in patterns) for k in keys):
                return False
            continue
        if operator != "StringEquals":
            return False  # unknown operator: not granted (fail closed)
        for key, wanted in tests.items():
            if not key.startswith("aws:ResourceTag/"):
                return False
            values = wanted if isinstance(wanted, list) else [wanted]
            if tags.get(key.split("/", 1)[1]) not in values:
                return False
    return True


def allowed(call: Recorded, statements: list[dict[str, Any]], refs: Mapping[str, str], *,
            tags: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether some Allow statement grants the call's action on every resource it touches."""
    action, resources = authorization(call)
    if action in NEEDS_NO_PERMISSION:
        return True
    for arn in resources:
        granted = False
        for st in statements:
            if st["Effect"] != "Allow":
                continue
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if not any(_match(a.lower(), action.lower()) for a in actions):
                continue
            st_res = resolve(st["Resource"], refs)
            st_res = st_res if isinstance(st_res, list) else [st_res]
            if not any(_match(pattern, arn) for pattern in st_res):
                continue
            if "Condition" in st and not _conditions_hold(st["Condition"], tags.get(arn, {}),
                                                          call):
                continue
            granted = True
            break
        if not granted:
            return False
    return True
