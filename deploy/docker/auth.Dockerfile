# syntax=docker/dockerfile:1
# Renovo auth: the accounts service: users, tokens, logins.
# Build from the repository root (deploy/docker-compose.yml does this):
#   docker build -f deploy/docker/auth.Dockerfile -t renovo/auth .
# Runs `python -m services.auth` from /app (the repository's layout: shared/, services/, weights/), as an
# unprivileged user, listening on 8101 (GET /healthz, /readyz and /metrics beside its API).

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Only the pinned dependencies: this layer is the same in every service image and survives code changes.
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

FROM python:3.11.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RENOVO_ENV=production \
    RENOVO_LOG_FORMAT=json \
    RENOVO_AUTH_HOST=0.0.0.0 \
    RENOVO_AUTH_PORT=8101
RUN groupadd --system --gid 10001 renovo \
    && useradd --system --uid 10001 --gid renovo --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin renovo
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY shared/ shared/
COPY services/ services/
# Bytecode at build time: the app folder is read-only to the service user and PYTHONDONTWRITEBYTECODE is set,
# so without it every start would compile the sources again.
RUN python -m compileall -q shared services
COPY weights/manifest.json weights/manifest.json
USER 10001:10001
EXPOSE 8101
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('RENOVO_AUTH_PORT', '8101') + '/healthz', timeout=4)"]
CMD ["python", "-m", "services.auth"]
