"""Just enough of AppSync to run GraphQL text against the read API's Lambda handler.

The schema is the deployed file (with the local prelude, as AppSync knows those names). Every
root field is resolved the way the stack wires it: the JS resolver's request
(``{field, parentType, arguments, identity}``) goes to :func:`analytics.api.appsync.handle`,
and its response turns ``{"error": {code, message}}`` into an error whose ``errorType`` is the
code; nested fields read the returned JSON, as AppSync does for a Lambda's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ariadne import MutationType, QueryType, SubscriptionType, make_executable_schema
from graphql import GraphQLError, graphql_sync

from analytics.api.appsync import RecorderFor, handle
from analytics.api.identity import AppSyncAccess
from analytics.api.schema import APPSYNC_PRELUDE, schema_sdl


class AppSyncEmulator:
    def __init__(self, rt: Any, rules: AppSyncAccess, recorder_for: RecorderFor,
                 clock: Callable[[], float]) -> None:
        self.rt, self.rules, self.recorder_for, self.clock = rt, rules, recorder_for, clock
        self.invocations: list[dict[str, Any]] = []
        query, mutation, subscription = QueryType(), MutationType(), SubscriptionType()
        for field in ("getMetrics", "getRealtimeMetrics", "getCostAnalysis"):
            query.set_field(field, self._resolver(field, "Query"))
        mutation.set_field("recordCustomMetric", self._resolver("recordCustomMetric",
                                                                 "Mutation"))
        self.schema = make_executable_schema([APPSYNC_PRELUDE, schema_sdl()], query, mutation,
                                             subscription)

    def invoke(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One Lambda invocation, as AppSync's JS request builds it."""
        self.invocations.append(dict(payload))
        return handle(payload, rt=self.rt, rules=self.rules, recorder_for=self.recorder_for,
                      clock=self.clock)

    def _resolver(self, field: str, parent: str) -> Callable[..., Any]:
        def resolve(_: Any, info: Any, **args: Any) -> Any:
            identity = info.context["identity"]
            out = self.invoke({"field": field, "parentType": parent, "arguments": args,
                               "identity": identity})
            if "error" in out:
                raise GraphQLError(out["error"]["message"],
                                   extensions={"errorType": out["error"]["code"]})
            return out["data"]

        return resolve

    def execute(self, query: str, variables: Mapping[str, Any],
                identity: Mapping[str, Any]) -> dict[str, Any]:
        result = graphql_sync(self.schema, query, variable_values=dict(variables),
                              context_value={"identity": dict(identity)})
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [{"message": e.message, "path": e.path,
                               "errorType": (e.extensions or {}).get("errorType",
                                                                     "ValidationError")}
                              for e in result.errors]
        return body
