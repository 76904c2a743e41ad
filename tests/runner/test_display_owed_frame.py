"""A frame set directly that the flash limiter held back still reaches the LEDs.

The operator's Blank is a frame set directly (``SetFrame``), and it passes the flash limiter as
every frame does. Right after a flashing idle show, or Blank and Resume pressed in turn, the
limiter's window can be full: the Blank is then damped toward the show's last frame, and used
to stay so, the tree lit, until the next frame came (found in CI: an e2e test pressing Blank
seven times timed out waiting for the tree to go dark). The display now shows it again each
idle period until it reaches the LEDs as asked, which the limiter allows within its window.
"""

from __future__ import annotations

import time

from protocol.messages import Message
from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.protect import Protector
from runner.server.display import TreeDisplay

LEDS = 20
RED = ((255, 0, 0, 100),) * LEDS
DARK = ((0, 0, 0, 0),) * LEDS


def ignore(_: Message) -> None:
    return None


def test_a_blank_the_flash_limiter_held_back_reaches_the_leds_once_it_may() -> None:
    config = RunnerConfig(led_count=LEDS, fps=40.0, flash_limit=True)
    positions = spiral_cone(LEDS)
    with VirtualStrip(LEDS) as strip:
        display = TreeDisplay(
            strip, positions, ignore, protector=Protector.from_config(config, LEDS, positions)
        )
        held_back = False
        for _ in range(10):  # the show and Blank in turn, faster than the limiter allows
            display.hold(RED)
            display.hold(DARK)
            if strip.current != DARK:
                held_back = True
                break
        assert held_back, "the limiter never held a Blank back: the test proves nothing"
        start = time.monotonic()
        for k in range(1, 41):  # idle periods over the next two seconds
            display.run_once(start + k * 0.05, busy=False)
            if strip.current == DARK:
                break
        assert strip.current == DARK
        shown = strip.shown_count
        display.run_once(start + 2.1, busy=False)
        assert strip.shown_count == shown  # once dark as asked, nothing more is shown
