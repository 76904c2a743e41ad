"""WCAG 2.3.1's flash thresholds, as the flash limiter reads them (docs/protection.md): one
place for the zones (``flash``) and the LEDs on their own (``per_led``)."""

# Six opposing transitions are three flashes.
MAX_TRANSITIONS = 6
# One second, plus a margin: the LEDs show a frame a moment after the limiter sees it, and a
# scheduling hiccup between the two must not squeeze a fourth flash into a true one-second window.
WINDOW_S = 1.05
GENERAL_STEP = 0.1  # of the maximum relative luminance, 1.0
DARK_BELOW = 0.8
RED_STEP = 20.0
RED_SCALE = 320.0
SATURATED_RED = 0.8
# So few LEDs changing make no flash of a large area: a sparkle (flash: cells; per_led: LEDs).
FEW_LEDS = 3
