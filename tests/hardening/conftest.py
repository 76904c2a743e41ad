"""Shared pieces of the hardening suite: the corpus reader and the side-effect canaries."""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.other_uid import ReadableTree, readable_tree

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"
# A program that gets out prints this; no legitimate outcome ever puts it in a log.
ESCAPE_MARK = "ESCAPED"


@dataclass(frozen=True)
class CorpusProgram:
    """One hostile program and the outcome its header promises."""

    path: Path
    tries: str
    expects: tuple[str, ...]  # "rejected" or "<status> <reason>"
    canaries: tuple[str, ...]
    time_limit_s: float | None

    @property
    def name(self) -> str:
        """The file name without ``.py``."""
        return self.path.stem


def parse_program(path: Path) -> CorpusProgram:
    """Read the ``# tries:``/``# expect:``/``# canary:``/``# time:`` header of one program."""
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(":")
        fields[key.strip()] = value.strip()
    if "tries" not in fields or "expect" not in fields:
        raise ValueError(f"{path.name}: header needs '# tries:' and '# expect:'")
    expects = tuple(" ".join(alt.split()) for alt in fields["expect"].split("|"))
    canaries = tuple(c for c in fields.get("canary", "").replace(",", " ").split() if c)
    time_limit = float(fields["time"]) if "time" in fields else None
    return CorpusProgram(path, fields["tries"], expects, canaries, time_limit)


def load_corpus() -> list[CorpusProgram]:
    """Every program in ``tests/corpus``, sorted by name."""
    return [parse_program(p) for p in sorted(CORPUS_DIR.glob("*.py"))]


class Canaries:
    """A world-writable directory, a listening TCP port and a secret env var to watch."""

    def __init__(self) -> None:
        # Under /tmp directly and mode 0777, so only the sandbox (not a 0700 parent owned by
        # the test user) stands between a program running as `nobody` and the file.
        self.dir = Path(tempfile.mkdtemp(prefix="ledtree-canary-", dir="/tmp"))
        self.dir.chmod(0o777)
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.secret_name = "LEDTREE_CANARY_SECRET"
        self.secret = "canary-" + secrets.token_hex(16)
        self._old_env = os.environ.get(self.secret_name)
        os.environ[self.secret_name] = self.secret

    def file_for(self, program: str) -> Path:
        """The file a given program tries to create."""
        return self.dir / f"{program}.canary"

    def prepare(self, program: CorpusProgram) -> str:
        """The program's source with the canary placeholders filled in."""
        source = program.path.read_text(encoding="utf-8")
        return (
            source.replace("@@CANARY_FILE@@", str(self.file_for(program.name)))
            .replace("@@CANARY_PORT@@", str(self.port))
            .replace("@@SECRET_NAME@@", self.secret_name)
        )

    def tripped(self, program: str, texts: Sequence[str]) -> list[str]:
        """What the program managed to do: files made, connections opened, secrets shown."""
        found = []
        if self.file_for(program).exists() or any(self.dir.iterdir()):
            found.append(f"file canary: {sorted(p.name for p in self.dir.iterdir())}")
        try:
            conn, peer = self.listener.accept()
            conn.close()
            found.append(f"socket canary: connection from {peer}")
        except BlockingIOError:
            pass
        for text in texts:
            if self.secret in text:
                found.append("env canary: the secret appeared in the output")
            if ESCAPE_MARK in text:
                found.append(f"the program printed {ESCAPE_MARK}")
        return found

    def close(self) -> None:
        """Stop listening, remove the directory, restore the environment."""
        self.listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._old_env is None:
            os.environ.pop(self.secret_name, None)
        else:
            os.environ[self.secret_name] = self._old_env


@pytest.fixture(scope="module")
def canaries() -> Iterator[Canaries]:
    """One set of canaries for a whole module."""
    c = Canaries()
    try:
        yield c
    finally:
        c.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise any test asking for ``corpus_program`` over the whole corpus."""
    if "corpus_program" in metafunc.fixturenames:
        corpus = load_corpus()
        metafunc.parametrize("corpus_program", corpus, ids=[p.name for p in corpus])


@pytest.fixture(scope="session")
def corpus() -> list[CorpusProgram]:
    """The whole corpus."""
    return load_corpus()


# --- real processes -----------------------------------------------------------------------------


def load_bench(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` (bench is scripts, not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ledtree_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_sim() -> ModuleType:
    """``bench/load_sim.py`` as a module (its ``Stack`` starts the real runner and gunicorn)."""
    return load_bench("load_sim")


def _other_uid_stack(base: type, tree: ReadableTree) -> type:
    """load_sim's Stack whose web runs from ``tree`` (sources and packages nobody can read)."""

    class OtherUidStack(base):  # type: ignore[misc, valid-type]
        def start_web(self) -> None:
            who = [f"--reuid={self.web_user}", f"--regid={self.web_user}", "--clear-groups"]
            config = str(tree.src / "web" / "gunicorn.conf.py")
            argv = ["setpriv", *who, "--", tree.python, "-m", "gunicorn", "-c", config]
            out = open(self.workdir / "web.log", "ab")  # noqa: SIM115 - the child owns it
            try:  # cwd: gunicorn checks that it can enter it
                self.web = subprocess.Popen(
                    [*argv, "web:create_app()"],
                    cwd=tree.src,
                    env={**self.env, **tree.env},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            finally:
                out.close()

    return OtherUidStack


@pytest.fixture
def make_stack(load_sim: ModuleType) -> Iterator[Callable[..., Any]]:
    """Build real runner + gunicorn stacks in world-traversable temp dirs; stop them after."""
    stacks: list[Any] = []
    dirs: list[Path] = []

    def make(env: dict[str, str] | None = None, web_user: str | None = None) -> Any:
        # /tmp directly (not pytest's 0700 tmp_path) so a web process running as nobody works.
        workdir = Path(tempfile.mkdtemp(prefix="ledtree-stack-", dir="/tmp"))
        workdir.chmod(0o777)
        dirs.append(workdir)
        base = {"TREE_SECRET_KEY": "hardening-" + secrets.token_hex(8), "TREE_SOCKET_MODE": "666"}
        stack_class = load_sim.Stack
        if web_user and os.geteuid() == 0:
            # The checkout may be where only root can enter: web as nobody runs from a copy.
            tree = readable_tree(("web",))
            dirs.append(tree.folder)
            stack_class = _other_uid_stack(load_sim.Stack, tree)
        stack = stack_class(workdir, {**base, **(env or {})}, web_user=web_user)
        stack.uploads.chmod(0o777)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    for d in dirs:
        subprocess.run(["chmod", "-R", "u+w", str(d)], check=False)
        shutil.rmtree(d, ignore_errors=True)


class Client:
    """A tiny HTTP client for one simulated person (own User-Agent and cookie jar)."""

    def __init__(self, load_sim: ModuleType, url: str, agent: str) -> None:
        self._sim = load_sim
        self.url = url
        self.headers = {"User-Agent": agent}
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """One request: ``(status, headers, JSON body)``."""
        return self._sim.request(self.opener, method, self.url + path, self.headers, body)  # type: ignore[no-any-return]

    def submit(self, source: str) -> dict[str, Any]:
        """POST a program; it must be accepted."""
        status, _, body = self.call("POST", "/api/submissions", {"source": source})
        assert status == 201, (status, body)
        return body  # type: ignore[no-any-return]

    def get(self, sid: str) -> dict[str, Any]:
        """The submission as its author sees it."""
        status, _, body = self.call("GET", f"/api/submissions/{sid}")
        assert status == 200, (status, body)
        return body  # type: ignore[no-any-return]

    def wait_for(
        self, sid: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Poll a submission until ``predicate`` holds (a generous bound, not a timing check)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                sub = self.get(sid)
                if predicate(sub):
                    return sub
            except (AssertionError, OSError):
                sub = {}
            if time.monotonic() > deadline:
                raise AssertionError(f"{sid} never satisfied the condition; last seen {sub}")
            time.sleep(0.1)


@pytest.fixture
def client_for(load_sim: ModuleType) -> Callable[[Any, str], Client]:
    """``client_for(stack, "agent")``: a person talking to that stack."""
    return lambda stack, agent: Client(load_sim, stack.url, agent)
