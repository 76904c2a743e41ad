"""LED positions (CSV or spiral cone) and the idle scene."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.config import RunnerConfig
from runner.leds.layout import LayoutError, load_positions, spiral_cone
from runner.server.idle_scene import idle_frame


def _in_bounds(positions: list[tuple[float, float, float]]) -> bool:
    return all(-1 <= x <= 1 and -1 <= y <= 1 and 0 <= z <= 1 for x, y, z in positions)


@pytest.mark.parametrize("count", [1, 2, 100, 1000])
def test_spiral_cone_fills_the_bounds(count: int) -> None:
    positions = load_positions(RunnerConfig(led_count=count))
    assert len(positions) == count
    assert _in_bounds(positions)
    assert all(isinstance(v, float) for p in positions for v in p)
    if count > 1:
        assert positions[0][2] == 0.0 and positions[-1][2] == 1.0
        # Wide at the bottom, a point at the top: a cone.
        assert abs(positions[0][0]) == 1.0 and positions[-1][:2] == pytest.approx((0, 0), abs=1e-9)


def test_spiral_goes_up_monotonically() -> None:
    zs = [z for _, _, z in spiral_cone(50)]
    assert zs == sorted(zs) and len(set(zs)) == 50


def test_layout_csv_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "tree.csv"
    path.write_text("x,y,z\n# measured in cm\n10,20,100\n30,20,150\n\n20,30,300\n")
    positions = load_positions(RunnerConfig(led_count=3, layout_path=str(path)))
    # x spans 20 cm, y 10 cm: both scaled by the larger half-width (10), centred.
    assert positions == [
        pytest.approx((-1.0, -0.5, 0.0)),
        pytest.approx((1.0, -0.5, 0.25)),
        pytest.approx((0.0, 0.5, 1.0)),
    ]


def test_layout_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "tree.csv"
    path.write_text("0,0,0\n1,1,1\n")
    config = RunnerConfig.from_environ({"TREE_LAYOUT": str(path), "TREE_LED_COUNT": "2"})
    assert load_positions(config) == [(-1.0, -1.0, 0.0), (1.0, 1.0, 1.0)]


def test_flat_layout_does_not_divide_by_zero(tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    path.write_text("5,5,5\n5,5,5\n")
    assert load_positions(RunnerConfig(led_count=2, layout_path=str(path))) == [(0.0, 0.0, 0.0)] * 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,0,0\n1,1\n", "line 2: expected three finite numbers"),
        ("0,0,0\n1,1,nan\n", "line 2: expected three finite numbers"),
        ("0,0,0\na,b,c\n", "line 2: 'a,b,c' is not numbers"),
        ("0,0,0\n", r"has 1 positions but TREE_LED_COUNT is 2 \(counted x,y,z rows on lines 1-1\)"),
        ("0,0,0\n1,1,1\n2,2,2\n", "has 3 positions but TREE_LED_COUNT is 2"),
        ("x,y,z\n\n0,0,0\n", r"counted x,y,z rows on lines 3-3; line 1 was skipped as a header"),
        ("x,y,z\n", "has 0 positions .* no x,y,z rows; line 1 was skipped as a header: 'x,y,z'"),
        ("[0, 0, 0]\n[1, 1]\n", "line 2: expected three finite numbers"),
        ("[[0, 0, 0], [1, 1, true]]", r"entry 1 is not three finite numbers \[x, y, z\]"),
        ("[[0, 0, 0], [1, 1, 1]", "not a JSON list of"),
    ],
)
def test_bad_layout_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(LayoutError, match=message):
        load_positions(RunnerConfig(led_count=2, layout_path=str(path)))


# Shapes of the published layouts of the 2020 and 2021 trees (values made up, same layout):
# 2021: the GIFT CSV, with a UTF-8 byte-order mark and CRLF line ends; 2020: coords.txt, one
# ``[x, y, z]`` per line in integer pixel units, CRLF, no newline after the last line.
THREE = [(-0.5, 0.25, 0.0), (0.5, -0.25, 1.5), (0.0, 0.0, 3.0)]
FORMATS = {
    "gift_2021_bom_crlf": "\ufeff-0.5,0.25,0\r\n0.5,-0.25,1.5\r\n0,0,3\r\n",
    "csv_bom_header": "\ufeffX,Y,Z\n-0.5,0.25,0\n0.5,-0.25,1.5\n0,0,3\n",
    "csv_header_no_bom": "x, y, z\n-0.5, 0.25, 0\n0.5, -0.25, 1.5\n0, 0, 3\n",
    "coords_txt_2020": "[-50, 25, 0]\r\n[50, -25, 150]\r\n[0, 0, 300]",
    "coords_txt_bom_trailing_commas": "\ufeff[-50, 25, 0],\n[50, -25, 150],\n[0, 0, 300]\n",
    "whitespace_columns": "-5 2.5 0\n5\t-2.5 15\n0 0 30\n",
    "json_list": "[[-0.5, 0.25, 0], [0.5, -0.25, 1.5], [0, 0, 3]]",
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_published_layout_shapes_load_as_they_are(tmp_path: Path, name: str) -> None:
    path = tmp_path / "layout.csv"
    path.write_bytes(FORMATS[name].encode())
    positions = load_positions(RunnerConfig(led_count=3, layout_path=str(path)))
    # Every unit ends up in ledtree's ranges: x, y in -1..1 (shape kept), z in 0..1.
    assert positions == [
        pytest.approx((-1.0, 0.5, 0.0)),
        pytest.approx((1.0, -0.5, 0.5)),
        pytest.approx((0.0, 0.0, 1.0)),
    ]


def test_a_byte_order_mark_does_not_cost_the_first_led(tmp_path: Path) -> None:
    # The 2021 tree's file: ledtree used to take its first row for a header and count 499.
    rows = [f"{math.cos(i):.6f},{math.sin(i):.6f},{i / 100:.6f}" for i in range(500)]
    path = tmp_path / "coords_2021.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(rows)).encode())
    positions = load_positions(RunnerConfig(led_count=500, layout_path=str(path)))
    assert len(positions) == 500 and positions[0][2] == 0.0 and positions[-1][2] == 1.0
    with pytest.raises(LayoutError, match=r"has 500 positions but TREE_LED_COUNT is 499 \(count"):
        load_positions(RunnerConfig(led_count=499, layout_path=str(path)))


def test_missing_layout_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="cannot read layout file"):
        load_positions(RunnerConfig(led_count=2, layout_path=str(tmp_path / "nope.csv")))


@given(st.floats(0, 1e7, allow_nan=False), st.integers(1, 300))
def test_idle_frame_is_always_a_valid_frame(now: float, count: int) -> None:
    frame = idle_frame(now, spiral_cone(count))
    assert len(frame) == count
    for led in frame:
        assert len(led) == 4 and all(type(v) is int for v in led)
        assert all(0 <= v <= 255 for v in led[:3]) and 0 <= led[3] <= 100


def test_idle_scene_is_gentle_and_moves() -> None:
    positions = spiral_cone(100)
    first, later = idle_frame(0.0, positions), idle_frame(2.0, positions)
    assert first == idle_frame(0.0, positions)  # pure: same time, same frame
    assert first != later
    assert all(led[3] > 0 for led in first)  # never dark: people should see the tree is alive
    mean = sum(led[3] for led in first) / len(first)
    assert mean < 40  # but calm
