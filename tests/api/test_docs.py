"""docs/api.md cannot rot: its Python examples run, in order and as written (only the twin's
port differs), against the local twin; its curl example answers; its excerpt of the root types
is the schema file's."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from graphql import FieldDefinitionNode, ObjectTypeDefinitionNode, parse, print_ast

from analytics.api.schema import schema
from tests.api.conftest import Twin

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOC_BASE = "http://127.0.0.1:8787"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_python_examples_run_against_the_twin(twin: Twin,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the doc's Python blocks pointed at the twin, jobseek's token in the environment
    monkeypatch.setenv("JOBSEEK_TOKEN", twin.tokens["jobseek"])
    code = [b.replace(DOC_BASE, twin.server.base_url) for b in blocks("python")]
    assert len(code) >= 8 and all(DOC_BASE in b for b in blocks("python")[:1])
    namespace: dict[str, Any] = {"__name__": "docs_api"}
    # WHEN each block runs, in order, in one namespace (as a reader pasting them would)
    for n, block in enumerate(code):
        exec(compile(block, f"docs/api.md python block {n + 1}", "exec"), namespace)
    # THEN each example did what its text says
    ns = namespace
    assert ns["latency"].period_seconds == 300 and len(ns["latency"].series) > 0
    assert ns["p95"].statistic == "p95" and len(ns["p95"].points) == 36  # 3 h of 5 min
    assert [a.application_id for a in ns["costs"].by_application] == ["jobseek"]
    assert ns["costs"].untagged is None
    assert ns["stored"] == 250
    update = ns["update"]
    assert (update.metric_name, update.unit) == ("DocsLive", "Count")
    assert [(p.value, p.dimensions) for p in update.points] == [(7.0, {"Plan": "pro"})]
    assert (ns["async_update"].metric_name, ns["async_update"].points[0].value) == (
        "DocsAsync", 3.0)
    assert ns["refused"] == "FORBIDDEN"
    stored = twin.rt.local.store.cursor().execute(
        "SELECT count(*) FROM custom_metrics WHERE metric_name = 'DocsSignups'").fetchone()
    assert stored is not None and stored[0] >= 251  # 250 + the single record (+ earlier runs)


def test_the_curl_example_answers(twin: Twin) -> None:
    # GIVEN the doc's curl command pointed at the twin, without any proxy of the environment
    [command] = [b for b in blocks("bash") if "/graphql" in b]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["JOBSEEK_TOKEN"] = twin.tokens["jobseek"]
    # WHEN it runs
    out = subprocess.run(["bash", "-c", command.replace(DOC_BASE, twin.server.base_url)],
                         capture_output=True, text=True, env=env, timeout=30, check=True)
    # THEN it gets jobseek's realtime panels
    data = json.loads(out.stdout)["data"]["getRealtimeMetrics"]
    assert [p["key"] for p in data["service"]] == ["requests", "5xx", "p95", "lambda"]


def _fields(node: ObjectTypeDefinitionNode) -> dict[str, str]:
    """name -> the field printed without description or directives."""
    out = {}
    for f in node.fields or ():
        bare = FieldDefinitionNode(name=f.name, arguments=tuple(
            type(a)(name=a.name, type=a.type, directives=()) for a in f.arguments or ()),
            type=f.type, directives=())
        out[f.name.value] = print_ast(bare)
    return out


def test_the_schema_excerpt_is_the_files() -> None:
    # GIVEN the doc's root types and the served schema's
    [excerpt] = blocks("graphql")
    doc_types = {d.name.value: _fields(d) for d in parse(excerpt).definitions
                 if isinstance(d, ObjectTypeDefinitionNode)}
    served = parse((DOC.parents[1] / "api" / "schema.graphql").read_text(encoding="utf-8"))
    file_types = {d.name.value: _fields(d) for d in served.definitions
                  if isinstance(d, ObjectTypeDefinitionNode)
                  and d.name.value in ("Query", "Mutation", "Subscription")}
    # THEN every root field is in the doc, with the same arguments and result
    assert doc_types == file_types
    s = schema()
    assert s.query_type is not None and set(doc_types["Query"]) == set(s.query_type.fields)
