"""One pydantic model per message kind, joined in a union discriminated on ``kind``.

web -> runner: Hello, Check, Run, Stop, SetFrame, ReleaseFrame, Preview, Ping.
runner -> web: Welcome, CheckResult, Started, Log, Frame, Finished, Idle, PreviewResult, Error,
Pong.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, TypeAdapter

# Bump it when a message changes shape or meaning, so that an older peer would misread it: web
# and runner then refuse each other at the handshake with a clear message. A new kind that an
# older peer can refuse (``Error(bad_message)``, connection kept) without harm needs no bump:
# e.g. ``ReleaseFrame`` to an older runner only leaves its held frame held, as before.
PROTOCOL_VERSION = 1

# Upper bounds keep a hostile or buggy peer from making the other side allocate without limit.
from protocol.limits import (  # noqa: E402
    MAX_LEDS,
    MAX_LOG_CHARS,
    MAX_PREVIEW_DATA_CHARS,
    MAX_PREVIEW_FRAMES,
    MAX_SOURCE_CHARS,
)

# One LED as (R, G, B, L). Ranges are checked by the runner's frame validator, which is the
# single place that decides what may reach the LEDs; the protocol only fixes the shape.
LedState = Annotated[list[StrictInt], Field(min_length=4, max_length=4)]
LedFrame = Annotated[list[LedState], Field(max_length=MAX_LEDS)]
Position = tuple[float, float, float]


def _without_byte_order_mark(source: str) -> str:
    return source.removeprefix("\ufeff")


# A program's text. One leading byte-order mark (a file saved as "UTF-8 with BOM") is dropped
# here, on whichever side reads the message, as ``python3 file.py`` does: the compiler refuses
# U+FEFF in a ``str``. web drops it on upload too; this keeps Check, Run and Preview right
# whoever sends them.
ProgramSource = Annotated[
    str, Field(max_length=MAX_SOURCE_CHARS), AfterValidator(_without_byte_order_mark)
]

# The statuses and reasons of SPEC §3, shared by web and runner so neither can drift.
Status = Literal["pending", "running", "completed", "failed", "cancelled"]
RunStatus = Literal["completed", "failed", "cancelled"]  # how a run ends
# Who or what asked for a Stop; a stopped run ends ``cancelled`` with this reason.
StopReason = Literal["operator", "author", "time_limit"]
Reason = Literal[
    "ended",  # the program returned
    "time_limit",  # it reached its time limit (normal for an endless animation)
    "error",  # it raised, or could not be read or started
    "invalid_frame",
    "memory_limit",
    "cpu_limit",
    "killed",
    "crashed",  # the sandbox itself failed
    "runner_lost",  # the runner went away mid-run
    "operator",  # stopped or removed by the operator
    "author",  # stopped or cancelled by its author
]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProgramError(_Msg):
    """What went wrong in a user's program, with the line in the user's own file."""

    type: str = Field(max_length=200)
    message: str = Field(max_length=2000)
    line: int | None = None
    col: int | None = None


# --- web -> runner ---------------------------------------------------------------------------


class Hello(_Msg):
    """First message on a connection; the runner answers Welcome or Error(version_mismatch)."""

    kind: Literal["hello"] = "hello"
    version: int
    client: str = Field(default="web", max_length=100)


class Check(_Msg):
    """Compile a program under the runner's exact policy without running it."""

    kind: Literal["check"] = "check"
    request_id: str = Field(max_length=100)
    source: ProgramSource


class Run(_Msg):
    """Run one program on the tree; answered by Started ... Finished, or Error(busy)."""

    kind: Literal["run"] = "run"
    submission_id: str = Field(max_length=100)
    source: ProgramSource
    time_limit_s: float = Field(gt=0, le=3600)


class Stop(_Msg):
    """Stop the running program (if it is this submission, or any when None)."""

    kind: Literal["stop"] = "stop"
    submission_id: str | None = Field(default=None, max_length=100)
    reason: StopReason = "operator"


class SetFrame(_Msg):
    """Show one full frame directly (blanking, idle scenes); validated like a program's frames."""

    kind: Literal["set_frame"] = "set_frame"
    leds: LedFrame
    request_id: str | None = Field(default=None, max_length=100)


class ReleaseFrame(_Msg):
    """A frame set with SetFrame need not stay any longer: the idle scene may resume (after a
    finished program's usual hold, if one is on). No answer; no effect while a program runs."""

    kind: Literal["release_frame"] = "release_frame"


class Preview(_Msg):
    """Dry-run a program on a virtual clock beside the tree (never on the LEDs); answered by
    PreviewResult, or Error(busy) when every dry-run slot is taken."""

    kind: Literal["preview"] = "preview"
    request_id: str = Field(max_length=100)
    source: ProgramSource
    time_limit_s: float | None = Field(default=None, gt=0, le=3600)  # None: the runner's limit


class Ping(_Msg):
    """Liveness probe; answered by Pong."""

    kind: Literal["ping"] = "ping"


# --- runner -> web ---------------------------------------------------------------------------


class Welcome(_Msg):
    """Handshake answer: what the tree is."""

    kind: Literal["welcome"] = "welcome"
    version: int
    led_count: int
    positions: list[Position]
    fps: float
    backend: str
    busy_with: str | None = None  # submission id running right now, if any
    # Sandbox layer -> "ok", "ok: <why the environment meets it>" or "missing: <why>".
    layers: dict[str, str] | None = None


class CheckResult(_Msg):
    """Answer to Check: ok, or the errors with line and column."""

    kind: Literal["check_result"] = "check_result"
    request_id: str
    ok: bool
    errors: list[ProgramError] = []


class Started(_Msg):
    """A program has started on the tree."""

    kind: Literal["started"] = "started"
    submission_id: str


class Log(_Msg):
    """Lines a program printed (already capped by the runner)."""

    kind: Literal["log"] = "log"
    submission_id: str
    text: str = Field(max_length=MAX_LOG_CHARS)


class Frame(_Msg):
    """A frame the LEDs actually showed (rate-capped by the runner for the live view)."""

    kind: Literal["frame"] = "frame"
    submission_id: str | None = None
    index: int = 0
    leds: LedFrame


class Finished(_Msg):
    """A program's outcome (SPEC §3)."""

    kind: Literal["finished"] = "finished"
    submission_id: str
    status: RunStatus
    reason: Reason
    error: ProgramError | None = None
    duration_s: float
    frames: int
    log: str = Field(default="", max_length=MAX_LOG_CHARS)
    # Run report of the room's protection (SPEC §6): frames dimmed by the power budget, the
    # smallest share of light kept (1.0: none dimmed), frames damped by the flash limiter.
    frames_scaled: int = Field(default=0, ge=0)
    power_scale_min: float = Field(default=1.0, ge=0, le=1)
    frames_damped: int = Field(default=0, ge=0)


class PreviewResult(_Msg):
    """What a dry run predicts for the tree.

    ``status``/``reason``: as ``Finished`` (``completed``: ``ended`` or ``time_limit``;
    ``failed``: ``error``, ``invalid_frame``, ``memory_limit``, ``crashed``, ``killed``), or
    ``incomplete`` when the dry run stopped before the program did: ``cpu_budget`` (it used
    ``TREE_PREVIEW_CPU_S`` of real CPU time), ``wall_budget`` (the machine was too busy) or
    ``shutdown`` (the runner stopped).
    ``duration_s`` is the predicted run time on the tree (virtual seconds; for an error, when it
    happens; for ``incomplete``, how far the dry run got). ``frames``/``fps``: frames the tree
    would show in that time. ``frames_data`` holds ``frame_count`` frames sampled every
    ``frame_interval_s`` seconds (frame k is what the tree shows at ``(k + 1) *
    frame_interval_s``), encoded as ``frames_encoding`` says; decode with
    ``protocol.preview_codec.decode_frames``.
    """

    kind: Literal["preview_result"] = "preview_result"
    request_id: str = Field(max_length=100)
    status: Literal["completed", "failed", "incomplete"]
    reason: str = Field(max_length=100)
    error: ProgramError | None = None
    duration_s: float = Field(ge=0)
    frames: int = Field(ge=0)
    fps: float = Field(ge=0)
    hits_time_limit: bool
    led_count: int = Field(ge=0, le=MAX_LEDS)
    frame_interval_s: float = Field(gt=0)
    frame_count: int = Field(ge=0, le=MAX_PREVIEW_FRAMES)
    # Each frame is led_count x (R, G, B, L) bytes; all frames, concatenated, zlib, base64.
    frames_encoding: Literal["rgbl8-zlib-base64"] = "rgbl8-zlib-base64"
    frames_data: str = Field(default="", max_length=MAX_PREVIEW_DATA_CHARS)
    log: str = Field(default="", max_length=MAX_LOG_CHARS)


class Idle(_Msg):
    """The tree is free: no program is running (sent after Finished and on connect)."""

    kind: Literal["idle"] = "idle"


class Error(_Msg):
    """A refusal or a protocol problem; the connection stays usable unless said otherwise."""

    kind: Literal["error"] = "error"
    code: str  # version_mismatch | busy | bad_message | too_large | invalid_frame | not_running
    message: str
    request_id: str | None = None


class Pong(_Msg):
    """Answer to Ping."""

    kind: Literal["pong"] = "pong"


Message = Annotated[
    Hello
    | Check
    | Run
    | Stop
    | SetFrame
    | ReleaseFrame
    | Ping
    | Welcome
    | CheckResult
    | Started
    | Log
    | Frame
    | Finished
    | Idle
    | Preview
    | PreviewResult
    | Error
    | Pong,
    Field(discriminator="kind"),
]

# Built once: constructing a TypeAdapter is expensive (pydantic "Performance tips").
message_adapter: TypeAdapter[Message] = TypeAdapter(Message)
