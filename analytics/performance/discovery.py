"""Resources of an app found by its ``Application`` tag, for apps whose catalog lists none.

On aws the backend asks the Resource Groups Tagging API (``tag:GetResources``, paginated) for
everything tagged ``Application=<cost_tag>`` and this module turns the ARNs into the names
CloudWatch uses as dimensions: API ids, function names, table names, DB instance ids and bucket
names. The answer is cached for an hour (kind ``"discovery"``): tags change rarely and the
Tagging API is throttled per account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analytics.core.catalog import Resources

if TYPE_CHECKING:
    pass

TAG_KEY = "Application"
#: ``ResourceTypeFilters`` of the GetResources call: the services the page draws. API Gateway
#: is asked for as a whole service: SAM and CloudFormation tag the *stage*
#: (``/restapis/<id>/stages/<name>``), which a ``restapis``-only filter leaves out.
RESOURCE_TYPES = ("apigateway", "lambda:function", "dynamodb:table", "rds:db", "s3")


@dataclass(frozen=True)
class ApiRef:
    """An API Gateway API seen in an ARN; its name and stage need a lookup for REST APIs."""

    id: str
    kind: str  # "rest" | "http"
    stage: str | None = None


@dataclass
class Found:
    """Resource identifiers parsed from tag-discovery ARNs, deduplicated, in ARN order."""

    apis: dict[str, ApiRef] = field(default_factory=dict)
    lambdas: list[str] = field(default_factory=list)
    dynamodb_tables: list[str] = field(default_factory=list)
    rds_instances: list[str] = field(default_factory=list)
    s3_buckets: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def _add(self, bucket: list[str], name: str) -> None:
        if name and name not in bucket:
            bucket.append(name)

    def add_arn(self, arn: str) -> None:
        """Classify one ARN; ARNs of other kinds are kept in ``ignored``."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            self.ignored.append(arn)
            return
        service, resource = parts[2], parts[5]
        if service == "lambda" and resource.startswith("function:"):
            # arn:aws:lambda:r:a:function:NAME[:qualifier]
            self._add(self.lambdas, resource.split(":")[1])
        elif service == "dynamodb" and resource.startswith("table/"):
            # arn:aws:dynamodb:r:a:table/NAME[/index/...|/stream/...]
            self._add(self.dynamodb_tables, resource.split("/")[1])
        elif service == "rds" and resource.startswith("db:"):
            self._add(self.rds_instances, resource[3:])
        elif service == "s3" and resource and "/" not in resource:
            self._add(self.s3_buckets, resource)
        elif service == "apigateway" and resource.startswith(("/restapis/", "/apis/")):
            self._add_api(resource)
        else:
            self.ignored.append(arn)

    def _add_api(self, resource: str) -> None:
        # /restapis/ID, /restapis/ID/stages/STAGE, /apis/ID, /apis/ID/stages/STAGE
        bits = resource.strip("/").split("/")
        kind = "rest" if bits[0] == "restapis" else "http"
        api_id = bits[1] if len(bits) > 1 else ""
        if not api_id:
            return
        stage = bits[3] if len(bits) >= 4 and bits[2] == "stages" else None
        known = self.apis.get(api_id)
        if known is None or (stage and not known.stage):
            self.apis[api_id] = ApiRef(api_id, kind, stage or (known.stage if known else None))


def classify(arns: list[str]) -> Found:
    found = Found()
    for arn in arns:
        found.add_arn(arn)
    return found


def resource_count(r: Resources) -> int:
    return (len(r.apis) + len(r.lambdas) + len(r.dynamodb_tables) + len(r.rds_instances)
            + len(r.s3_buckets))


@dataclass(frozen=True)
class Resolved:
    """The resources to show for an app and whether they were discovered."""

    resources: Resources
    discovered: bool
    tag: str = ""
    fetched_at: float = 0.0
    stale: bool = False
    error: str | None = None

    @property
    def count(self) -> int:
        return resource_count(self.resources)
