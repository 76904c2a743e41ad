"""What programs written elsewhere commonly do, in-process under the real policy (issue 10).

Single-underscore names for the program's own things, ``colorsys``, ``typing`` annotations, and
``hasattr``/``getattr`` that never answer silently wrong. Both transformer modes.
"""

from __future__ import annotations

import colorsys
import textwrap

import pytest

from runner.sandbox.policy import check_source, compile_program, make_globals
from runner.sandbox.transformer import GuardedTransformer, SandboxTransformer

MODES = [SandboxTransformer, GuardedTransformer]


class LogAPI:
    """A real 4-LED ProgramAPI that keeps the log and the frames."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.frames: list[object] = []

    def get_led_count(self) -> int:
        return 4

    def set_leds(self, states: object) -> None:
        self.frames.append(states)

    def get_led_positions(self) -> list[tuple[float, float, float]]:
        return [(0.0, 0.0, i / 4) for i in range(4)]

    def write_log(self, text: str) -> None:
        self.log.append(text)


def output(source: str, transformer: type[SandboxTransformer]) -> str:
    program_api = LogAPI()
    exec(
        compile_program(textwrap.dedent(source), transformer=transformer), make_globals(program_api)
    )
    return "".join(program_api.log)


def failure(source: str, transformer: type[SandboxTransformer]) -> BaseException:
    assert check_source(textwrap.dedent(source)) == []
    with pytest.raises(Exception) as info:
        output(source, transformer)
    return info.value


OWN_NAMES = """
_CONST = 3


def _helper(x):
    return [x] * _CONST


class _Frame:
    _made = 0

    def __init__(self, frame_time):
        self._frame_time = frame_time
        _Frame._made += 1

    def _double(self):
        return self._frame_time * 2


f = _Frame(0.5)
f._frame_time += 1
setattr(f, "_extra", "e")
print(_helper(1), f._frame_time, f._double(), _Frame._made, f._extra)
print(getattr(f, "_frame_time"), getattr(f, "_missing", "default"))
print(hasattr(f, "_frame_time"), hasattr(f, "_missing"), hasattr(_Frame, "_made"))
del f._extra
print(hasattr(f, "_extra"), "{0._frame_time}".format(f))
"""


@pytest.mark.parametrize("transformer", MODES)
def test_a_programs_own_underscore_names_work(transformer: type[SandboxTransformer]) -> None:
    assert output(OWN_NAMES, transformer) == (
        "[1, 1, 1] 1.5 3.0 1 e\n1.5 default\nTrue False True\nFalse 1.5\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "class C:\n    def f(self):\n        self.__x = 1",
        "x = (1).__class__",
        "_getattr_ = print",
        "x = _write_",
        "def f(_getiter_):\n    pass",
        "__builtins__",
        "from random import _inst",
        "class C:\n    def __secret(self):\n        pass",
    ],
)
def test_dunders_and_the_sandboxs_own_names_stay_refused(source: str) -> None:
    errors = check_source(source)
    assert errors and all(e.type == "SandboxError" for e in errors)
    assert any("private" in e.message or "not available" in e.message for e in errors)


@pytest.mark.parametrize("transformer", MODES)
@pytest.mark.parametrize(
    "source",
    [
        "import random\nrandom._inst",
        "print._call",
        "getLEDCount._call",
        "import math\nmath._SandboxModule__name",
        "import colorsys\ncolorsys.hsv_to_rgb._call",
        "import typing\ntyping.List._name",
        "x = 5\nx._secret",
        "getattr(print, '_call', None)",
        "'{0._call}'.format(print)",
    ],
)
def test_underscore_names_on_the_sandboxs_objects_are_refused_at_run_time(
    source: str, transformer: type[SandboxTransformer]
) -> None:
    err = failure(source, transformer)
    assert type(err).__name__ == "SandboxError"
    assert "only the program's own objects" in str(err)


@pytest.mark.parametrize("transformer", MODES)
@pytest.mark.parametrize("name", ["__len__", "__class__", "_call", "gi_frame", "__dict__"])
@pytest.mark.parametrize("call", ["hasattr(x, {name!r})", "getattr(x, {name!r}, None)"])
def test_hasattr_and_getattr_never_answer_silently_for_refused_names(
    name: str, call: str, transformer: type[SandboxTransformer]
) -> None:
    for value in ("[1, 2]", "print", "5"):
        err = failure(f"x = {value}\nprint({call.format(name=name)})", transformer)
        assert type(err).__name__ == "SandboxError" and f'"{name}" is not accessible' in str(err)


@pytest.mark.parametrize("transformer", MODES)
def test_hasattr_answers_truthfully_for_names_a_program_may_use(
    transformer: type[SandboxTransformer],
) -> None:
    source = (
        "print(hasattr([1], 'append'), hasattr(5, 'append'), hasattr('s', 'format'),"
        " hasattr(5, 'format'), getattr(5, 'nope', 'd'), hasattr(ValueError(), 'obj'))"
    )
    assert output(source, transformer) == "True False True False d False\n"


@pytest.mark.parametrize("transformer", MODES)
def test_colorsys_is_importable(transformer: type[SandboxTransformer]) -> None:
    source = """
    import colorsys
    from colorsys import hsv_to_rgb, rgb_to_hsv
    print(hsv_to_rgb(0.5, 1, 1), colorsys.rgb_to_hls(1, 0, 0), rgb_to_hsv(0, 0, 1))
    """
    hsv, hls = colorsys.hsv_to_rgb(0.5, 1, 1), colorsys.rgb_to_hls(1, 0, 0)
    expected = (hsv, hls, colorsys.rgb_to_hsv(0, 0, 1))
    assert output(source, transformer) == " ".join(map(str, expected)) + "\n"


@pytest.mark.parametrize("transformer", MODES)
def test_typing_is_good_for_annotations_and_nothing_else(
    transformer: type[SandboxTransformer],
) -> None:
    source = """
    from typing import Dict, List, Optional, Tuple, TYPE_CHECKING, cast
    import typing

    T = typing.TypeVar("T")
    table: Dict[int, List[Tuple[int, int]]] = {}

    def first(items: List[T]) -> Optional[T]:
        return items[0] if items else None

    print(first([3, 4]), cast(int, "x"), TYPE_CHECKING, table, List[int] | None)
    try:
        List()
    except TypeError as e:
        print(e)
    """
    assert output(source, transformer) == (
        "3 x False {} typing.List\ntyping.List is for annotations only in tree programs\n"
    )


def test_typing_names_it_does_not_offer_fail_at_import() -> None:
    with pytest.raises(ImportError):
        output("from typing import NamedTuple", SandboxTransformer)
