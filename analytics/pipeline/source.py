"""What any backend must offer the pipeline: a rollups store, a place for packs, a runner.

The rollups store is keyed by (app, day) and a put replaces, which is what makes every run
idempotent. The reports store also holds the staged data passed between the Lambda steps
(Step Functions caps a state's payload at 256 KB). The runner starts a run where the backend
runs them: a Step Functions execution on aws, a thread of this process locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from analytics.pipeline.model import Rollup, RunRecord, RunRequest


class RollupsSource(Protocol):
    def put_rollups(self, rollups: Sequence[Rollup]) -> int:
        """Store (replace) each rollup under its (app, day); return how many were written."""
        ...

    def get_rollups(self, app_ids: Sequence[str], *, start: date, end: date) -> list[Rollup]:
        """The stored rollups of those apps with ``start <= day < end``."""
        ...

    def put_run(self, run: RunRecord) -> None:
        """Store (replace) a run record under its id."""
        ...

    def list_runs(self, *, limit: int = 20) -> list[RunRecord]:
        """The newest run records first."""
        ...


@dataclass(frozen=True)
class StoredReport:
    """One stored object: its key, size, when it was written (epoch ms) and where to get it."""

    key: str
    size: int
    modified_ms: int
    location: str


class ReportsSource(Protocol):
    def put(self, key: str, body: bytes, *, content_type: str) -> str:
        """Store ``body`` under ``key`` (replacing); return where it now is."""
        ...

    def get(self, key: str) -> bytes:
        ...

    def delete(self, key: str) -> None:
        ...

    def list(self, prefix: str) -> list[StoredReport]:
        """Objects under ``prefix``, newest first."""
        ...

    def link(self, key: str, *, expires_s: int) -> str:
        """A link a reader can open: a presigned URL on aws (time-limited), a path locally."""
        ...

    def notify(self, subject: str, message: str) -> None:
        """Tell the subscribers (SNS on aws; a log file locally)."""
        ...


class PipelineRunner(Protocol):
    def start(self, request: RunRequest, *, trigger: str) -> str:
        """Start a run of ``request`` without waiting; return its id (execution ARN locally
        a thread's run id)."""
        ...


class HasRollups(Protocol):
    @property
    def rollups(self) -> RollupsSource: ...


class HasReports(Protocol):
    @property
    def reports(self) -> ReportsSource: ...


class HasPipelineRunner(Protocol):
    @property
    def pipeline_runner(self) -> PipelineRunner: ...
