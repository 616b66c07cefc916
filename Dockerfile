# The inferstack gateway image (compose mode). It installs the project from pyproject.toml
# with `pip install .`, the same install native mode runs (`make install`), minus the dev
# extras and the editable flag; tests/unit/test_compose.py keeps the two in step.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies and package in one layer: pyproject.toml is the only dependency list.
# /app stays root's (the code is read-only to the gateway); its state folder, where the
# request-log spool lives (a volume in compose), belongs to the gateway's user. A named
# volume first mounted here copies this folder's owner, so the spool is writable.
COPY pyproject.toml README.md ./
COPY api_server ./api_server
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 inferstack \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin inferstack \
    && install -d -o 10001 -g 10001 -m 0700 /app/.state /app/.state/spool

# Gateway settings and the model registry; compose mounts ./configs over these.
COPY configs/gateway.yaml configs/models.yaml ./configs/

USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]

# 0.0.0.0 inside the container: published ports arrive on its own interface, not on its
# loopback. Compose publishes on the host's 127.0.0.1 unless GATEWAY_BIND says otherwise.
CMD ["python", "-m", "api_server", "--host", "0.0.0.0", "--port", "8000"]
