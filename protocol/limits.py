"""Size limits both sides agree on; plain constants, so importing them costs nothing."""

MAX_LEDS = 5000
MAX_SOURCE_CHARS = 64 * 1024
MAX_LOG_CHARS = 64 * 1024
