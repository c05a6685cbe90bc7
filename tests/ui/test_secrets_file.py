import stat
from pathlib import Path

from analytics.ui.secrets_file import write_secrets_from_env


def test_writes_the_secret_text_private(tmp_path: Path) -> None:
    text = '[auth]\nredirect_uri = "https://x/oauth2callback"\n'
    path = write_secrets_from_env({"STREAMLIT_SECRETS_TOML": text}, home=tmp_path)
    assert path == tmp_path / ".streamlit" / "secrets.toml"
    assert path.read_text() == text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unset_or_blank_writes_nothing(tmp_path: Path) -> None:
    assert write_secrets_from_env({}, home=tmp_path) is None
    assert write_secrets_from_env({"STREAMLIT_SECRETS_TOML": "  "}, home=tmp_path) is None
    assert not (tmp_path / ".streamlit").exists()
