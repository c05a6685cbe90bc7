"""The executable schema: ``api/schema.graphql`` bound to the resolvers, with the API's limits.

Schema-first with ariadne: the SDL file AppSync deploys is the file served here, unchanged,
after a prelude that declares AppSync's built-in scalars and ``@aws_*`` directives as no-ops
(AppSync refuses a schema that declares them itself). Resolvers bind the caller's principal and
the page deadline around the dashboard's services (:func:`resolve`), so the API reads through
the same cache and access rules as the pages. A validation rule bounds query depth and the
number of root fields; :func:`execute` bounds the size of the answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ariadne import (
    MutationType,
    QueryType,
    ScalarType,
    SubscriptionType,
    graphql_sync,
    make_executable_schema,
)
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

from analytics.api import metrics as metric_resolvers
from analytics.api import views
from analytics.api.errors import ApiError, Code, as_api_error
from analytics.api.record import Recorder, record_custom_metric
from analytics.api.updates import UpdateHub
from analytics.api.updates import interest_of as subscription_interest
from analytics.core import access
from analytics.core.access import Principal
from analytics.core.runtime import RuntimeOf
from analytics.costs.source import HasCosts
from analytics.custom.source import HasCustom
from analytics.metrics.source import HasMetrics
from analytics.performance.source import HasPerformance

log = logging.getLogger(__name__)
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "api" / "schema.graphql"
#: AppSync's built-ins, declared for the local server only.
APPSYNC_PRELUDE = """
scalar AWSDateTime
scalar AWSDate
directive @aws_iam on OBJECT | FIELD_DEFINITION
directive @aws_cognito_user_pools(cognito_groups: [String]) on OBJECT | FIELD_DEFINITION
directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION
"""
MAX_DEPTH = 8
MAX_ROOT_FIELDS = 10
#: Largest JSON answer served (AppSync's own limit on a Lambda resolver's answer is higher).
MAX_RESULT_BYTES = 4 * 1024 * 1024
#: ariadne logs every resolver error with a traceback; user errors are not worth one, so its
#: logger is muted and :func:`format_error` logs the INTERNAL ones itself.
_ARIADNE_LOG = logging.getLogger("analytics.api.ariadne")
_ARIADNE_LOG.setLevel(logging.CRITICAL + 1)


class ApiSources(HasMetrics, HasPerformance, HasCustom, HasCosts, Protocol):
    """Every source a resolver reads."""


ApiRuntime = RuntimeOf[ApiSources]
T = TypeVar("T")


@dataclass(frozen=True)
class ApiContext:
    """What a request's resolvers get: the runtime, who asks, the clock and the write path."""

    rt: ApiRuntime
    principal: Principal
    clock: Callable[[], float]
    recorder: Recorder | None = None
    hub: UpdateHub | None = None
    deadline_s: float | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


def resolve(ctx: ApiContext, work: Callable[[], T]) -> T:
    """Run ``work`` as the caller, inside the page deadline; any failure becomes an ApiError."""
    try:
        with access.acting_as(ctx.principal), ctx.rt.cache.deadline(ctx.deadline_s):
            return work()
    except Exception as exc:
        error = as_api_error(exc)
        if error.code is Code.INTERNAL and error is not exc:
            log.error("API resolver failed", exc_info=exc)
        raise error from exc


def schema_sdl() -> str:
    """The schema file's text (what AppSync is given)."""
    return SCHEMA_FILE.read_text(encoding="utf-8")


def build_schema() -> GraphQLSchema:
    query, mutation, subscription = QueryType(), MutationType(), SubscriptionType()

    @query.field("getMetrics")
    def _get_metrics(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx: ApiContext = info.context
        return resolve(ctx, lambda: metric_resolvers.get_metrics(ctx.rt, args, now=ctx.now()))

    @query.field("getRealtimeMetrics")
    def _get_realtime(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx: ApiContext = info.context
        return resolve(ctx, lambda: views.get_realtime(ctx.rt, args, now=ctx.now()))

    @query.field("getCostAnalysis")
    def _get_costs(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx: ApiContext = info.context
        return resolve(ctx, lambda: views.get_cost_analysis(ctx.rt, args,
                                                            today=ctx.now().date()))

    @mutation.field("recordCustomMetric")
    def _record(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx: ApiContext = info.context
        return resolve(ctx, lambda: record_custom_metric(ctx.recorder, args))

    @mutation.field("publishMetricUpdate")
    def _publish(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        raise ApiError(Code.FORBIDDEN, "updates are published by the server when a batch is "
                       "committed, not by callers")

    @subscription.source("metricUpdates")  # type: ignore[arg-type]  # ariadne's hint omits coroutines, which graphql-core awaits
    async def _updates_source(_: Any, info: GraphQLResolveInfo, **args: Any
                              ) -> AsyncIterator[dict[str, Any]]:
        ctx: ApiContext = info.context
        interest = resolve(ctx, lambda: subscription_interest(ctx.rt.catalog, args))
        if ctx.hub is None:
            raise ApiError(Code.UPSTREAM_UNAVAILABLE, "live updates are not available here")
        return ctx.hub.stream(interest)

    @subscription.field("metricUpdates")
    def _update(update: dict[str, Any], _: GraphQLResolveInfo, **__: Any) -> dict[str, Any]:
        return update

    text = ScalarType("AWSDateTime")
    date = ScalarType("AWSDate")
    return make_executable_schema([APPSYNC_PRELUDE, schema_sdl()], query, mutation,
                                  subscription, text, date)


def _depth(selections: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
           seen: frozenset[str]) -> int:
    if selections is None:
        return 0
    deepest = 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            if node.name.value.startswith("__"):
                continue  # introspection is bounded by the schema itself
            deepest = max(deepest, 1 + _depth(node.selection_set, fragments, seen))
        elif isinstance(node, InlineFragmentNode):
            deepest = max(deepest, _depth(node.selection_set, fragments, seen))
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                deepest = max(deepest, _depth(fragment.selection_set, fragments,
                                              seen | {node.name.value}))
    return deepest


def _root_fields(selections: SelectionSetNode,
                 fragments: dict[str, FragmentDefinitionNode]) -> int:
    count = 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            count += not node.name.value.startswith("__")
        elif isinstance(node, InlineFragmentNode):
            count += _root_fields(node.selection_set, fragments)
        elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments:
            count += _root_fields(fragments[node.name.value].selection_set, {})
    return count


class QueryLimits(ValidationRule):
    """At most :data:`MAX_DEPTH` nested fields and :data:`MAX_ROOT_FIELDS` root fields."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fragments = {d.name.value: d for d in self.context.document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        depth = _depth(node.selection_set, fragments, frozenset())
        if depth > MAX_DEPTH:
            self.report_error(GraphQLError(
                f"the query nests {depth} levels; at most {MAX_DEPTH} are served", node,
                extensions={"code": Code.QUERY_TOO_COMPLEX.value}))
        roots = _root_fields(node.selection_set, fragments)
        if roots > MAX_ROOT_FIELDS:
            self.report_error(GraphQLError(
                f"the query asks {roots} root fields; at most {MAX_ROOT_FIELDS} per request",
                node, extensions={"code": Code.QUERY_TOO_COMPLEX.value}))


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Every error with ``extensions.code``; internal ones without their text (logged here)."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError) and error.path:
        api = as_api_error(original)
        if api is not original and api.code is Code.INTERNAL:
            log.error("API resolver failed", exc_info=original)
        formatted["message"] = api.message
        formatted["extensions"] = {"code": api.code.value}
    else:
        extensions = dict(formatted.get("extensions") or {})
        extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        formatted["extensions"] = extensions
    return formatted


_SCHEMA: GraphQLSchema | None = None


def schema() -> GraphQLSchema:
    """The executable schema, built once per process."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = build_schema()
    return _SCHEMA


def error_result(code: Code, message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code.value}}]}


def execute(data: Any, ctx: ApiContext) -> tuple[int, dict[str, Any]]:
    """One GraphQL request over HTTP: (HTTP status, JSON answer)."""
    _, result = graphql_sync(schema(), data, context_value=ctx, validation_rules=[QueryLimits],
                             error_formatter=format_error, logger=_ARIADNE_LOG)
    if "data" not in result:
        return 400, result
    size = len(json.dumps(result, separators=(",", ":")))
    if size > MAX_RESULT_BYTES:
        return 200, {"data": None, **error_result(
            Code.RESULT_TOO_LARGE, f"the answer is {size:,} bytes; at most {MAX_RESULT_BYTES:,}: "
            "ask for fewer fields, a shorter range or a coarser granularity")}
    return 200, result
