# syntax=docker/dockerfile:1
# ledtree web: Flask under gunicorn (one process), for a Raspberry Pi (linux/arm64).
# Build from the repo root:  docker compose build  (or docker build -f docker/web.Dockerfile .)

# --- 1. front-end bundle: platform-independent JavaScript, so build it natively (fast) ----------
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS frontend
WORKDIR /src/web/frontend
COPY web/frontend/package.json web/frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/frontend/ ./
# build.mjs writes ../static/dist/, i.e. /src/web/static/dist.
RUN npm run build

# --- 2. Python dependencies and the app in a virtualenv --------------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol/ protocol/
# web reads runner/README.md (the /docs page) and runner/examples/ (the editor's picker) as data;
# it never imports the runner package.
COPY runner/ runner/
COPY web/ web/
COPY --from=frontend /src/web/static/dist/ web/static/dist/
RUN /opt/venv/bin/pip install '.[web]'

# --- 3. runtime --------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# WEB_UID should own ./uploads on the host (the Pi's first user is 1000). SOCKET_GID is the group
# shared with the runner: the socket is root:ledtree-sock 0660, so only members may connect.
ARG WEB_UID=1000
ARG SOCKET_GID=2000
RUN groupadd --system --gid "${SOCKET_GID}" ledtree-sock \
    && useradd --uid "${WEB_UID}" --user-group --groups ledtree-sock --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin web \
    && install -d -o root -g ledtree-sock -m 0750 /run/ledtree \
    && install -d -o web -g web -m 0750 /app/uploads
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TREE_PORT=8000 \
    TREE_SOCKET=/run/ledtree/runner.sock \
    TREE_UPLOADS=/app/uploads
USER ${WEB_UID}
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TREE_PORT', '8000'), timeout=4)"]
# One process (threads/gevent inside it): the submission queue lives in this process's memory.
CMD ["gunicorn", "-c", "web/gunicorn.conf.py", "web:create_app()"]
