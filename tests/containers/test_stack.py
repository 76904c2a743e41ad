"""Both images built from the Dockerfiles, compose.yaml running: what a Pi owner gets (issue 14).

The stack is compose.yaml + compose.virtual.yaml (no LED devices on this machine), started by
scripts/container_check.py through podman's Docker-compatible API. Tests run in file order:
the last ones restart and stop services.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from runner.sandbox.confine import LAYERS, in_force
from tests.containers.conftest import ADMIN_TOKEN, ENV_SETTINGS, ROOT, Stack
from tests.deploy.readme_table import settings_by_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800)]

RED = "setLEDs([[255, 0, 0, 100]] * getLEDCount())\n"


def test_health_pages_and_editor_bundle(stack: Stack) -> None:
    health = stack.health()
    assert health["ok"] is True and health["runner_online"] is True
    # compose.yaml's health checks, run once in each container. Not `podman healthcheck run`:
    # podman 4.3's Docker API splits a CMD array's arguments at spaces (web's `python -c ...`).
    config = json.loads(stack.compose("config", "--format", "json"))
    for service in ("web", "runner"):
        test = config["services"][service]["healthcheck"]["test"]
        assert test[0] == "CMD"
        check = stack.exec(service, *test[1:])
        assert check.returncode == 0, (service, check.stdout + check.stderr)
    for page in ("/", "/editor", "/queue", "/tree", "/docs"):
        resp = stack.http.get(stack.url + page, timeout=10)
        assert resp.status_code == 200 and "text/html" in resp.headers["Content-Type"], page
    editor = stack.http.get(stack.url + "/editor", timeout=10).text
    bundle = re.search(r'src="([^"]*/dist/editor\.js[^"]*)"', editor)
    assert bundle, "the editor page names its bundle"
    js = stack.http.get(stack.url + bundle.group(1), timeout=10)
    assert js.status_code == 200 and len(js.content) > 10_000  # CodeMirror, built in the image


def test_program_over_http_completes_and_the_tree_shows_its_frame(stack: Stack) -> None:
    sid = stack.submit(RED)
    done = stack.finished(sid)
    assert (done["status"], done["reason"]) == ("completed", "ended"), done
    tree = stack.http.get(f"{stack.url}/api/tree", timeout=5).json()
    assert tree["led_count"] == 30
    assert tree["frame"] == [[255, 0, 0, 100]] * 30


def test_runner_has_only_loopback_and_cannot_reach_web(stack: Stack) -> None:
    links = stack.exec("runner", "ls", "/sys/class/net").stdout.split()
    assert links == ["lo"]
    web_ip = stack.podman(
        "inspect",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        stack.container("web"),
    ).stdout.strip()
    assert web_ip
    dial = (
        "import socket, sys\n"
        "try:\n"
        f"    socket.create_connection(({web_ip!r}, 8000), timeout=3)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__, exc.errno)\n"
        "else:\n"
        "    print('connected')\n"
    )
    assert stack.exec("web", "python", "-c", dial.replace(web_ip, "127.0.0.1")).stdout.startswith(
        "connected"
    ), "the probe itself works where a route exists"
    assert stack.exec("runner", "python", "-c", dial).stdout.startswith("OSError")


def test_socket_is_0660_with_the_shared_group_and_refuses_another_uid(stack: Stack) -> None:
    stat = stack.exec("runner", "stat", "-c", "%a %U %G", "/run/ledtree/runner.sock").stdout
    assert stat.split() == ["660", "root", "ledtree-sock"]
    assert stack.health()["runner_online"] is True  # web, a member of the group, is connected
    dial = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        "    s.connect('/run/ledtree/runner.sock')\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
        "else:\n"
        "    print('connected')\n"
    )
    assert stack.exec("web", "python", "-c", dial).stdout.strip() == "connected"
    other = stack.exec("web", "python", "-c", dial, user="65534:65534").stdout.strip()
    assert other == "PermissionError"


def test_every_sandbox_layer_is_in_force_inside_the_runner(stack: Stack) -> None:
    # What the runner reported in its handshake, as web relays it.
    told = stack.health()["sandbox_layers"]
    assert set(told) == set(LAYERS), told
    assert {k: v for k, v in told.items() if not in_force(v)} == {}, told
    # No network namespace per program in a container (no CAP_SYS_ADMIN): the child checks that
    # the container's own namespace has only lo, which network_mode: none gives.
    assert "only lo" in told["netns"], told["netns"]
    # The runner's own probe, run inside the container now, agrees.
    probe = (Path(__file__).parent / "layer_probe.py").read_text()
    result = stack.exec("runner", "python", "-I", "-", stdin=probe)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    missing = {k: v for k, v in found["report"].items() if not in_force(v)}
    assert missing == {}, f"sandbox layers not in force inside the runner container: {missing}"
    # Landlock really holds: the file is world-readable, so only Landlock can refuse it.
    assert found["reads"] == {"outside": "PermissionError", "inside": "read"}, found
    # And the runner logged no missing layer while it ran programs.
    assert "is not in force" not in stack.logs("runner")


def test_every_setting_in_env_arrives_in_its_containers(stack: Stack) -> None:
    table = settings_by_service()
    fixed = {"TREE_PORT"}  # web listens on 8000 inside; .env's value is the published port
    for service in ("web", "runner"):
        env = stack.env(service)
        expected = {
            name: ENV_SETTINGS[name]
            for name in table[service]
            if name in ENV_SETTINGS and name not in fixed
        }
        arrived = {name: env.get(name) for name in expected}
        assert arrived == expected, service
    assert stack.env("web")["TREE_PORT"] == "8000"
    assert "TREE_SANDBOX_DEV" not in stack.env("runner")  # a Pi never starts with a layer missing


def test_settings_from_env_take_effect(stack: Stack) -> None:
    # TREE_PORT: we reach web on it. TREE_LED_COUNT: the tree has 30 LEDs.
    assert stack.http.get(f"{stack.url}/api/tree", timeout=5).json()["led_count"] == 30
    # TREE_LOG_LIMIT=100: a chatty program's log is cut at 100 bytes.
    sid = stack.submit("for i in range(50):\n    print('0123456789')\n" + RED)
    done = stack.finished(sid)
    assert done["status"] == "completed", done
    assert "limited to 100 bytes" in done["log"]
    # TREE_ADMIN_TOKEN (a value-less entry in compose.yaml): /api/admin exists and wants it.
    status = f"{stack.url}/api/admin/status"
    assert stack.http.get(status, timeout=5).status_code == 401
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert stack.http.get(status, headers=auth, timeout=5).status_code == 200
    # TREE_ACCESS_LOG=-: gunicorn logs each request.
    assert "GET /api/tree" in stack.logs("web")


def test_root_owned_uploads_stops_web_with_one_clear_line(stack: Stack) -> None:
    with tempfile.TemporaryDirectory() as uploads:  # root-owned, as in a clone made as root
        result = stack.podman(
            "run", "--rm", "--read-only", "-v", f"{uploads}:/app/uploads", "ledtree-web",
            check=False, timeout=120,
        )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("web: ")]
    assert len(errors) == 1, output
    assert "/app/uploads" in errors[0] and "uid 1000" in errors[0]
    assert "chown -R 1000:1000 uploads" in errors[0]


def test_submissions_secret_key_and_session_survive_down_and_up(stack: Stack) -> None:
    sid = stack.submit(RED)
    assert stack.finished(sid)["status"] == "completed"
    key = (stack.project / "uploads" / ".secret_key").read_bytes()
    stack.compose("down")
    stack.compose("up", "-d")
    stack.wait("web to see the runner again", lambda: stack.health()["runner_online"])
    assert (stack.project / "uploads" / ".secret_key").read_bytes() == key
    again = stack.http.get(f"{stack.url}/api/submissions/{sid}", timeout=5).json()
    assert again["status"] == "completed"
    assert again["mine"] is True  # the same cookie is still the same person


def test_sigterm_blanks_the_leds_and_the_runner_exits_0(stack: Stack) -> None:
    stack.compose("stop", "runner")  # SIGTERM, then SIGKILL after stop_grace_period
    state = stack.podman(
        "inspect", "--format", "{{.State.ExitCode}}", stack.container("runner")
    ).stdout.strip()
    assert state == "0"
    assert "runner stopped; LEDs blank" in stack.logs("runner")
    stack.wait("web to see the runner gone", lambda: stack.health()["runner_online"] is False)


def test_readme_deployment_steps_are_the_ones_the_check_ran() -> None:
    """README "Start it": every command a Pi owner types, in the check's order."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("**Start it**", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    commands = [c for c in commands if c]
    assert commands == [
        "git clone <this repo> ledtree && cd ledtree",
        "mkdir -p uploads && sudo chown 1000:1000 uploads",
        'echo "TREE_LED_COUNT=300" >> .env',
        'echo "TREE_ADMIN_TOKEN=$(openssl rand -hex 16)" >> .env',
        "docker compose build",
        "docker compose up -d",
        "docker compose ps",
    ]
    script = (ROOT / "scripts" / "container_check.py").read_text()
    order = [
        script.index('(project / "uploads").mkdir'),
        script.index('os.chown(project / "uploads", WEB_UID, WEB_UID)'),
        script.index('(project / ".env").write_text'),
        script.index("def build("),
        script.index('compose(project, "up", "-d")'),
        script.index('compose(project, "ps")'),
    ]
    assert order == sorted(order)
