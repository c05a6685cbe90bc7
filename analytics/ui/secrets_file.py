"""Write ``$STREAMLIT_SECRETS_TOML`` to ``~/.streamlit/secrets.toml`` before Streamlit starts.

Streamlit reads its native OIDC ``[auth]`` section (the SSO option) only from a secrets *file*;
on ECS the text arrives as a Secrets Manager value in this environment variable, so the
container runs ``python -m analytics.ui.secrets_file`` and then ``streamlit run Home.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def write_secrets_from_env(env: Mapping[str, str] | None = None,
                           home: Path | None = None) -> Path | None:
    """Write the variable's text (mode 600); return the path, or None when it is unset."""
    text = (os.environ if env is None else env).get("STREAMLIT_SECRETS_TOML", "")
    if not text.strip():
        return None
    target = (home or Path.home()) / ".streamlit" / "secrets.toml"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return target


if __name__ == "__main__":
    written = write_secrets_from_env()
    print(f"wrote {written}" if written else "STREAMLIT_SECRETS_TOML unset: no secrets file")
