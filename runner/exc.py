"""The runner's exceptions: one base class, built-in bases where they fit."""

from __future__ import annotations


class RunnerError(Exception):
    """Base class of every error the runner itself raises."""


class FrameInvalid(RunnerError, ValueError):
    """A frame with a wrong length or out-of-range value; it never reaches the LEDs."""


class FrameTypeInvalid(RunnerError, TypeError):
    """A frame holding something other than plain ints in lists/tuples."""


class StripClosed(RunnerError, RuntimeError):
    """``show`` was called on a strip after ``close``."""


class BackendUnavailable(RunnerError, RuntimeError):
    """The chosen LED backend cannot open on this machine (e.g. ws281x off a Pi)."""


class ProgramRejected(RunnerError, ValueError):
    """A program that does not compile under the sandbox policy; carries its errors."""

    def __init__(self, errors: list[object]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors
