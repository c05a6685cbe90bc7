"""A moto server for the doctor's aws tests (one per session, reset by each seed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aws_account import moto_server, patch_moto_gaps


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_moto_gaps(monkeypatch)
