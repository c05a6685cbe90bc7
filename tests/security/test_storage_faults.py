"""Storage faults are said once and clearly, and never acknowledged as stored.

Before, a corrupt or read-only DuckDB file gave a raw traceback at start, deleting the file
while running kept answering 202 (the points went into the unlinked file and were gone at the
next start), and the file was mode 0644.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from analytics.local.store import LocalStore
from analytics.sources import set_runtime
from analytics.ui import serve
from tests.conftest import local_env
from tests.custom.conftest import http_post
from tests.security.conftest import Endpoint, point


def _start(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    for k, v in local_env(data_dir).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr("analytics.core.settings.read_secrets", lambda path=None: {})
    set_runtime(None)
    serve.main([])


@pytest.mark.parametrize("fault", ["corrupt", "read-only"])
def test_a_bad_store_at_start_is_one_line_and_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        fault: str) -> None:
    # GIVEN a store file that is garbage, or a good one made read-only
    path = tmp_path / "analytics.duckdb"
    if fault == "corrupt":
        path.write_bytes(b"this is not a database" * 100)
    else:
        LocalStore(path).close()
        path.chmod(0o400)
    # WHEN the dashboard starts
    with pytest.raises(SystemExit) as stopped:
        _start(monkeypatch, tmp_path)
    # THEN it exits 2 with one line naming the file, and no traceback
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2
    assert len(err.splitlines()) == 1 and err.startswith("Store error — ")
    assert str(path) in err and "Traceback" not in err


def test_a_store_deleted_while_running_is_503_and_red_health(endpoint: Endpoint) -> None:
    # GIVEN a running endpoint that stored one point
    token = endpoint.tokens["jobseek"]
    assert http_post(endpoint.server.url, point(), token)[0] == 202
    # WHEN the store file is deleted under it
    endpoint.store.path.unlink()
    # THEN health is red and nothing more is acknowledged
    assert http_post(endpoint.server.base_url + "/health", None, None, method="GET")[0] == 503
    status, body = http_post(endpoint.server.url, point(name="After"), token)
    assert status == 503 and "retry" in body["errors"][0]["message"]


def test_a_store_replaced_while_running_is_503(endpoint: Endpoint, tmp_path: Path) -> None:
    LocalStore(tmp_path / "other.duckdb").close()
    (tmp_path / "other.duckdb").replace(endpoint.store.path)
    status, _ = http_post(endpoint.server.url, point(), endpoint.tokens["jobseek"])
    assert status == 503


def test_store_files_are_private(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "data" / "analytics.duckdb")
    with store.transaction() as cur:
        cur.execute("INSERT INTO meta VALUES ('k', 'v')")
    for f in (store.path, store.path.with_name(store.path.name + ".wal")):
        if f.exists():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    store.close()

