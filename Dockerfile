# Central Analytics dashboard (Streamlit). Built by CDK as a DockerImageAsset (infra/cdk) and run
# on ECS Fargate behind an ALB; locally: docker build -t central-analytics . && docker run -p 8501:8501 ...
FROM python:3.11.14-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

# Unprivileged runtime user; /app/.data is only written by the local demo backend.
RUN groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid app --create-home \
       --home-dir /home/app --shell /usr/sbin/nologin app \
    && mkdir -p /app/.data \
    && chown app:app /app/.data

WORKDIR /app

# Runtime dependencies only (dev/test tools live in other requirement files, not here).
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# Application code stays root-owned: the app user can read it but not rewrite it.
# pyproject.toml: the version the dashboard names in its AWS User-Agent (CloudTrail)
COPY Home.py apps.toml pyproject.toml ./
COPY app_pages/ app_pages/
COPY analytics/ analytics/
COPY .streamlit/config.toml .streamlit/config.toml

USER 10001:10001
EXPOSE 8501

# No curl in the slim image: probe Streamlit's health endpoint with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# STREAMLIT_SECRETS_TOML (the SSO [auth] section, from Secrets Manager) becomes
# ~/.streamlit/secrets.toml, then `streamlit run Home.py` headless on the ALB's port.
CMD ["sh", "-c", "python -m analytics.ui.secrets_file && exec streamlit run Home.py --server.headless=true --server.port=8501 --server.address=0.0.0.0"]
