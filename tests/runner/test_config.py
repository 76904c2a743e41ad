"""Runner settings (SPEC §6, §9): each ``TREE_*`` variable reaches its field, or is refused."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from protocol.limits import MAX_LEDS
from runner.config import CPU_MARGIN_S, RunnerConfig
from runner.supervise.spawn import child_limits

# The operator page holds the runner's settings table (runner/README.md is for students).
README = Path(__file__).parent.parent.parent / "docs" / "runner.md"

# Every runner setting, its environment variable, a raw value and what it must become.
SETTINGS = [
    ("socket_path", "TREE_SOCKET", "/run/x/runner.sock", "/run/x/runner.sock"),
    ("led_count", "TREE_LED_COUNT", "300", 300),
    ("layout_path", "TREE_LAYOUT", "/etc/tree.csv", "/etc/tree.csv"),
    ("fps", "TREE_FPS", "0", 0.0),
    ("time_limit_s", "TREE_TIME_LIMIT", "60", 60.0),
    ("backend", "TREE_LED_BACKEND", "gpiozero", "gpiozero"),
    ("cpu_limit_s", "TREE_CPU_LIMIT", "30", 30),
    ("memory_limit_bytes", "TREE_MEMORY_LIMIT", "100000000", 100_000_000),
    ("log_limit_bytes", "TREE_LOG_LIMIT", "2048", 2048),
    ("child_user", "TREE_CHILD_USER", "ledtree-child", "ledtree-child"),
    ("sandbox_dev", "TREE_SANDBOX_DEV", "1", True),
    ("view_fps", "TREE_VIEW_FPS", "10", 10.0),
    ("ws281x_pin", "TREE_WS281X_PIN", "12", 12),
    ("ws281x_dma", "TREE_WS281X_DMA", "5", 5),
    ("ws281x_channel", "TREE_WS281X_CHANNEL", "1", 1),
    ("ws281x_freq_hz", "TREE_WS281X_FREQ_HZ", "400000", 400_000),
    ("ws281x_invert", "TREE_WS281X_INVERT", "true", True),
    ("ws281x_strip_type", "TREE_WS281X_STRIP_TYPE", "RGB", "RGB"),
    ("ws281x_gamma", "TREE_WS281X_GAMMA", "1.8", 1.8),
    ("gpiozero_pins", "TREE_GPIOZERO_PINS", "5,6,13", "5,6,13"),
    ("spi_bus", "TREE_SPI_BUS", "1", 1),
    ("spi_device", "TREE_SPI_DEVICE", "1", 1),
    ("spi_hz", "TREE_SPI_HZ", "6250000", 6_250_000),
    ("socket_mode", "TREE_SOCKET_MODE", "0640", 0o640),
    ("socket_group", "TREE_SOCKET_GROUP", "ledtree", "ledtree"),
    ("max_current_ma", "TREE_MAX_CURRENT_MA", "5000", 5000.0),
    ("led_ma_per_channel", "TREE_LED_MA_PER_CHANNEL", "16", 16.0),
    ("led_idle_ma", "TREE_LED_IDLE_MA", "0.5", 0.5),
    ("flash_limit", "TREE_FLASH_LIMIT", "off", False),
]


def test_every_field_is_a_listed_setting() -> None:
    assert {f.name for f in dataclasses.fields(RunnerConfig)} == {s[0] for s in SETTINGS}


@pytest.mark.parametrize(("field", "env", "raw", "value"), SETTINGS)
def test_each_setting_comes_from_its_environment_variable(
    field: str, env: str, raw: str, value: object
) -> None:
    config = RunnerConfig.from_environ({env: raw})
    assert getattr(config, field) == value
    assert getattr(RunnerConfig.from_environ({env: ""}), field) == getattr(RunnerConfig(), field)


@pytest.mark.parametrize("env", [s[1] for s in SETTINGS])
def test_each_setting_is_documented(env: str) -> None:
    assert re.search(rf"^\| `{env}` \|", README.read_text(), re.MULTILINE), env


def test_defaults_run_on_a_laptop() -> None:
    config = RunnerConfig.from_environ({})
    assert (config.backend, config.led_count, config.fps, config.time_limit_s) == (
        "virtual",
        100,
        40.0,
        45.0,
    )
    assert config.layout_path is None and config.ws281x_pin == 18


def test_the_room_is_protected_by_default() -> None:
    config = RunnerConfig.from_environ({})
    assert (config.max_current_ma, config.led_ma_per_channel, config.led_idle_ma) == (
        8000.0,
        20.0,
        1.0,
    )
    assert config.flash_limit is True


@pytest.mark.parametrize(
    ("raw", "value"), [("on", True), ("OFF", False), ("1", True), ("no", False)]
)
def test_on_off_settings_read_the_usual_words(raw: str, value: bool) -> None:
    assert RunnerConfig.from_environ({"TREE_FLASH_LIMIT": raw}).flash_limit is value


def test_overrides_win_over_the_environment() -> None:
    config = RunnerConfig.from_environ({"TREE_LED_COUNT": "7"}, led_count=9)
    assert config.led_count == 9


@pytest.mark.parametrize("limit", [1.0, 45.0, 60.0, 120.5, 600.0])
def test_cant_hit_the_cpu_limit_before_the_time_limit(limit: float) -> None:
    # A busy endless animation must end "completed/time_limit", not "failed/cpu_limit".
    config = RunnerConfig(time_limit_s=limit)
    assert config.cpu_seconds() >= limit + CPU_MARGIN_S
    assert child_limits(config).cpu_seconds == config.cpu_seconds()


def test_an_explicit_cpu_limit_is_kept() -> None:
    config = RunnerConfig.from_environ({"TREE_CPU_LIMIT": "3", "TREE_TIME_LIMIT": "60"})
    assert config.cpu_seconds() == 3 and child_limits(config).cpu_seconds == 3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TREE_LED_COUNT": "0"}, "TREE_LED_COUNT): 0 is not between 1"),
        ({"TREE_LED_COUNT": str(MAX_LEDS + 1)}, f"{MAX_LEDS + 1} is not between 1 and {MAX_LEDS}"),
        ({"TREE_LED_COUNT": "ten"}, "setting led_count: 'ten' is not a valid int"),
        ({"TREE_FPS": "-1"}, "TREE_FPS): -1.0 is not between 0"),
        ({"TREE_FPS": "nan"}, "TREE_FPS): nan is not between 0"),
        ({"TREE_TIME_LIMIT": "0"}, "TREE_TIME_LIMIT): 0.0 is not between"),
        ({"TREE_TIME_LIMIT": "inf"}, "TREE_TIME_LIMIT): inf is not between"),
        ({"TREE_CPU_LIMIT": "0"}, "TREE_CPU_LIMIT): 0 is not between 1"),
        ({"TREE_VIEW_FPS": "-1"}, "TREE_VIEW_FPS): -1.0 is not between"),
        ({"TREE_MAX_CURRENT_MA": "-5"}, "TREE_MAX_CURRENT_MA): -5.0 is not between 0"),
        ({"TREE_LED_MA_PER_CHANNEL": "0"}, "TREE_LED_MA_PER_CHANNEL): 0.0 is not between 0.1"),
        ({"TREE_LED_IDLE_MA": "nan"}, "TREE_LED_IDLE_MA): nan is not between 0"),
        (
            {"TREE_LED_COUNT": "500", "TREE_MAX_CURRENT_MA": "500"},
            "500 mA is not above the idle draw of 500 LEDs at 1 mA each (500 mA)",
        ),
        # A typo must not silently turn the flash limiter off.
        (
            {"TREE_FLASH_LIMIT": "of"},
            "setting flash_limit (TREE_FLASH_LIMIT): 'of' is not on or off",
        ),
        ({"TREE_WS281X_INVERT": "maybe"}, "(TREE_WS281X_INVERT): 'maybe' is not on or off"),
    ],
)
def test_cant_start_with_a_bad_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RunnerConfig.from_environ(env)
