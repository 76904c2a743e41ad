# syntax=docker/dockerfile:1
# ledtree runner: runs user programs in a sandbox and drives the LEDs, for a Raspberry Pi
# (linux/arm64). No network (compose: network_mode none); talks to web over a Unix socket only.
# Build from the repo root:  docker compose build  (or docker build -f docker/runner.Dockerfile .)

# --- 1. build: rpi-ws281x compiles a C extension, so this stage has a compiler ---------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol/ protocol/
COPY runner/ runner/
# Installed (not just copied) so the sandbox child, started with `python -E -B -m runner.sandbox.child`
# and an empty environment, imports it without PYTHONPATH.
RUN /opt/venv/bin/pip install '.[runner,pi]'

# --- 2. runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# libseccomp2: the child's syscall filter (runner/sandbox/libseccomp.py opens it at run time).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libseccomp2 \
    && rm -rf /var/lib/apt/lists/*
# SOCKET_GID must match web's. The runner itself runs as root (the PWM/PCM path needs /dev/mem),
# and drops each sandboxed program to the unprivileged ledtree-child user (TREE_CHILD_USER).
ARG SOCKET_GID=2000
ARG CHILD_UID=10001
RUN groupadd --system --gid "${SOCKET_GID}" ledtree-sock \
    && useradd --system --uid "${CHILD_UID}" --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin ledtree-child \
    && install -d -o root -g ledtree-sock -m 0750 /run/ledtree
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TREE_SOCKET=/run/ledtree/runner.sock \
    TREE_SOCKET_GROUP=ledtree-sock \
    TREE_SOCKET_MODE=0660 \
    TREE_CHILD_USER=ledtree-child
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "runner", "health"]
CMD ["python", "-m", "runner"]
