"""Size limits both sides agree on; plain constants, so importing them costs nothing."""

MAX_LEDS = 5000
MAX_SOURCE_CHARS = 64 * 1024
MAX_LOG_CHARS = 64 * 1024
# A dry run's frames: at most this many, and this much encoded data, so that a PreviewResult
# stays well inside protocol.framing's 1 MiB per message.
MAX_PREVIEW_FRAMES = 4 * 3600
MAX_PREVIEW_DATA_CHARS = 768 * 1024
