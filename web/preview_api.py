"""``POST /api/preview``: a dry run of a program on the runner's virtual clock, never on the LEDs.

The body and its checks are those of ``POST /api/submissions`` (a bad body gets the same 400).
The answer holds the predicted outcome and the frames the tree would show, decoded to
``[[[R, G, B, L], ...], ...]``: frame k is what the tree shows at ``(k + 1) *
frame_interval_s``. To keep answers small (15 s at 500 LEDs and 25 frames/s is 2.6 MB of JSON),
frames stop after ``TREE_PREVIEW_ANSWER_SECONDS`` (default 15 s); ``?seconds=N`` asks for up to
N seconds (at most the time limit). ``frames_returned`` says how many came back, ``frames`` how
many the tree would show in all. Browsers that accept gzip get the answer gzipped: frames of
LED colours repeat a lot, so 2.6 MB of JSON usually shrinks to a few percent of that.
"""

from __future__ import annotations

import gzip
import math
import uuid
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask.typing import ResponseReturnValue

from protocol.messages import PreviewResult
from protocol.preview_codec import FramesDataError, decode_frames
from web.api import Answer, Checked, Program, check_program, compile_check, read_program
from web.errors import error_body
from web.refusals import fmt_duration
from web.runner_client import RunnerBusy, RunnerUnavailable
from web.services import preview_gate, preview_windows, runner_link, web_config

bp = Blueprint("preview_api", __name__, url_prefix="/api")

# A dry run takes about a second; a retry soon after "busy" usually finds a free slot.
BUSY_RETRY_S = 2
_NO_TURN = {
    "yours": "Your previous preview is still running or waiting for its turn; "
    "wait for its answer before asking again.",
    "full": "Too many previews are waiting for their turn right now; please try again in a moment.",
    "timeout": "Every preview slot stayed busy for {wait:g} s (others were waiting too); "
    "please try again in a moment.",
}


@bp.post("/preview")
def preview() -> ResponseReturnValue:
    """Dry-run the program: 200 with the prediction, 400/413/415 as an upload, 429, 503."""
    program = read_program()
    answer = dry_run(program) if isinstance(program, Program) else program
    status, body, headers = answer
    return _compressed(jsonify(body)), status, headers


GZIP_MIN_BYTES = 1024  # below this the gzip header and a round of CPU are not worth it
GZIP_LEVEL = 5  # of 9: within a few percent of the smallest, at a third of level 9's time


def _compressed(response: Response) -> Response:
    """The answer gzipped when the client accepts it and it is big enough to gain."""
    response.vary.add("Accept-Encoding")
    data = response.get_data()
    if len(data) < GZIP_MIN_BYTES or not request.accept_encodings["gzip"]:
        return response
    response.set_data(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def dry_run(program: Program) -> Answer:
    """Check the program as an upload, then ask the runner for its dry run."""
    checked = check_program(program)
    if not isinstance(checked, Checked):
        return checked
    windows = preview_windows()
    limited = windows.retry_after(g.user_id, g.ip_id)
    if limited is not None:
        wait, who = limited
        rate = windows.per_user if who == "user" else windows.per_ip
        subject = "You have" if who == "user" else "Your network has"
        message = (
            f"{subject} asked for {rate.amount} previews in {rate.text.split('/', 1)[1]}, "
            f"the most allowed. You can preview again in {fmt_duration(wait)}."
        )
        body = error_body("rate_limited", message, retry_after=wait)
        return 429, body, {"Retry-After": str(wait)}
    refused = compile_check(checked.source)
    if refused is not None:
        return refused.status, refused.body(), {}
    runner = runner_link()
    cfg = web_config()
    offline = (
        503,
        error_body(
            "runner_offline",
            "The tree is offline, so programs cannot be previewed right now. "
            "You can still send it to the queue: it runs once the tree is back.",
        ),
        {"Retry-After": "10"},
    )
    if runner is None or not runner.online:
        return offline
    # Counted before it runs: concurrent requests of one user each take a place.
    request_key = f"preview-{uuid.uuid4().hex}"
    windows.hit(g.user_id, g.ip_id, request_key)
    gate = preview_gate()
    turn = gate.acquire(g.user_id, g.ip_id, cfg.preview_wait)
    if turn != "granted":
        windows.refund(request_key)  # it cost nothing
        body = error_body(
            "busy" if turn != "yours" else "preview_in_progress",
            _NO_TURN[turn].format(wait=cfg.preview_wait),
            retry_after=BUSY_RETRY_S,
        )
        return 429, body, {"Retry-After": str(BUSY_RETRY_S)}
    try:
        result = runner.preview(checked.source, cfg.time_limit, timeout=cfg.preview_timeout)
    except RunnerBusy:
        windows.refund(request_key)  # it cost nothing
        message = "Every preview slot is busy right now; please try again in a moment."
        body = error_body("busy", message, retry_after=BUSY_RETRY_S)
        return 429, body, {"Retry-After": str(BUSY_RETRY_S)}
    except RunnerUnavailable:
        windows.refund(request_key)
        return offline
    finally:
        gate.release(g.user_id)
    if result is None:
        message = f"The tree did not finish the preview within {cfg.preview_timeout:g} s."
        return 503, error_body("preview_timeout", message), {"Retry-After": "5"}
    seconds = _asked_seconds(cfg.preview_answer_seconds, cfg.time_limit)
    try:
        return 200, preview_json(result, seconds), {"Cache-Control": "no-store"}
    except FramesDataError as exc:  # the runner's bug, not the author's
        message = f"The tree's preview could not be read ({exc})."
        return 502, error_body("bad_preview", message), {}


def _asked_seconds(default_s: float, limit_s: float) -> float:
    raw = request.args.get("seconds")
    try:
        asked = float(raw) if raw is not None else default_s
    except ValueError:
        asked = default_s
    return min(max(asked, 0.0), limit_s) if math.isfinite(asked) else default_s


def preview_json(result: PreviewResult, seconds: float) -> dict[str, Any]:
    """The answer's JSON: the prediction and up to ``seconds`` of decoded frames.

    Raises:
        FramesDataError: the runner's ``frames_data`` is not what it says.
    """
    frames = decode_frames(result.frames_data, result.frame_count, result.led_count)
    keep = min(len(frames), math.ceil(seconds / result.frame_interval_s - 1e-9))
    error = None
    if result.error is not None:
        error = {"type": result.error.type, "message": result.error.message,
                 "line": result.error.line}  # fmt: skip
    return {
        "status": result.status,
        "reason": result.reason,
        "error": error,
        "duration_s": result.duration_s,
        "hits_time_limit": result.hits_time_limit,
        "frames": result.frames,
        "fps": result.fps,
        "led_count": result.led_count,
        "frame_interval_s": result.frame_interval_s,
        "frames_returned": keep,
        "frames_data": frames[:keep],
        "log": result.log,
    }
