"""ReleaseFrame over the real socket: a frame set directly gives the tree back to the idle scene.

Web's idle show replays starred runs with SetFrame; when it stops, its last frame must not stay
frozen on the tree. The real server runs here with its real idle loop on a virtual strip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from protocol.messages import (
    Error,
    Finished,
    Frame,
    Idle,
    Message,
    Ping,
    Pong,
    ReleaseFrame,
    Run,
    SetFrame,
    Started,
    Stop,
)
from runner.config import RunnerConfig
from runner.leds.virtual import VirtualStrip
from runner.server.display import idle_period
from runner.server.idle_scene import idle_frame
from runner.server.tree_server import RunnerServer
from tests.runner.test_server import BLUE_PROGRAM, COUNT, FOREVER, Client, serving, short_dir

REPLAYED = [[i * 20, 0, 255 - i * 20, 60] for i in range(COUNT)]  # no idle-scene frame is this


@pytest.fixture
def config() -> Iterator[RunnerConfig]:
    """A private socket; the tree at its default frame rate."""
    with short_dir() as path:
        yield RunnerConfig(socket_path=str(path / "runner.sock"), led_count=COUNT, time_limit_s=10)


@pytest.fixture
def strip() -> VirtualStrip:
    """The virtual tree the server drives."""
    return VirtualStrip(COUNT)


@pytest.fixture
def server(config: RunnerConfig, strip: VirtualStrip) -> Iterator[RunnerServer]:
    """The real server with its idle loop, serving until the test ends."""
    with serving(RunnerServer(config, strip)) as srv:
        yield srv


@pytest.fixture
def client(server: RunnerServer, config: RunnerConfig) -> Iterator[Client]:
    """A connected client that has done the handshake (and read its Idle)."""
    with Client(config.socket_path) as c:
        c.hello()
        c.expect(Idle)
        yield c


def upto(client: Client, done: Callable[[Message], bool]) -> list[Message]:
    """Every message the server sends (idle frames too) up to and including the first ``done``."""
    seen: list[Message] = []
    while True:
        msg = client.recv()
        assert msg is not None, "the runner hung up"
        seen.append(msg)
        if done(msg):
            return seen


def settled(client: Client) -> list[Message]:
    """Everything the server sent until it answered a Ping (so what came before was handled)."""
    client.send(Ping())
    return upto(client, lambda m: isinstance(m, Pong))


def leds_of(frame: list[list[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(led) for led in frame)


def test_a_set_frame_stays_on_the_tree_without_a_release(
    client: Client, server: RunnerServer, strip: VirtualStrip, config: RunnerConfig
) -> None:
    client.send(SetFrame(leds=REPLAYED))
    client.expect_frame(REPLAYED)
    shown = strip.shown_count
    # Long enough for the idle loop to have shown several frames if it were allowed to.
    threading.Event().wait(5 * idle_period(config.fps))
    settled(client)
    assert server.run_once(time.monotonic()) is False  # what the idle loop calls
    assert strip.shown_count == shown
    assert strip.current == leds_of(REPLAYED)


def test_a_released_frame_gives_the_tree_back_to_the_idle_scene(
    client: Client, server: RunnerServer, strip: VirtualStrip
) -> None:
    client.send(SetFrame(leds=REPLAYED))
    client.expect_frame(REPLAYED)
    client.send(ReleaseFrame())
    # The idle loop's own next frame, broadcast like every idle frame (submission_id None).
    resumed = client.expect(Frame)
    assert resumed.submission_id is None and resumed.leds != REPLAYED
    assert strip.current != leds_of(REPLAYED)
    # It is the idle scene that shows, frame after frame, not a one-off.
    now = time.monotonic()
    assert server.run_once(now) is True
    assert tuple(idle_frame(now, server.positions)) in [f.leds for f in strip.frames]
    assert not any(isinstance(m, Error) for m in settled(client))  # no answer, no complaint


def test_a_release_with_nothing_held_is_harmless(client: Client, strip: VirtualStrip) -> None:
    client.send(ReleaseFrame())
    client.send(ReleaseFrame())
    assert not any(isinstance(m, Error) for m in settled(client))
    client.send(SetFrame(leds=REPLAYED))  # and a frame set afterwards is held as before
    client.expect_frame(REPLAYED)
    assert strip.current == leds_of(REPLAYED)


def test_a_release_while_a_program_runs_leaves_the_program_alone(
    client: Client, strip: VirtualStrip
) -> None:
    client.send(Run(submission_id="owner", source=FOREVER, time_limit_s=30))
    client.expect(Started)
    client.send(ReleaseFrame())
    during = settled(client)
    # The program goes on showing its frames on the tree.
    during += upto(client, lambda m: isinstance(m, Frame) and m.submission_id == "owner")
    shown = during[-1]
    assert isinstance(shown, Frame) and shown.leds == [[255, 0, 0, 100]] * COUNT
    client.send(Stop())
    during += upto(client, lambda m: isinstance(m, Finished))
    assert not any(isinstance(m, Error) for m in during)
    assert not any(isinstance(m, Frame) and m.submission_id is None for m in during)
    finished = during[-1]
    assert isinstance(finished, Finished)
    assert (finished.status, finished.reason) == ("cancelled", "operator")


def test_a_release_keeps_a_finished_programs_short_hold(
    config: RunnerConfig, strip: VirtualStrip
) -> None:
    srv = RunnerServer(config, strip, hold_after_run_s=1000.0)
    with serving(srv), Client(config.socket_path) as c:
        c.hello()
        c.send(Run(submission_id="seed", source=BLUE_PROGRAM, time_limit_s=5))
        c.expect(Finished)
        c.expect(Idle)
        c.send(ReleaseFrame())
        settled(c)
        blue = ((0, 0, 255, 100),) * COUNT
        assert srv.run_once(time.monotonic()) is False  # the seed's one frame is still seen
        assert strip.current == blue
        assert srv.run_once(time.monotonic() + 1001.0) is True  # then the idle scene
