# Candy cane
# Red and white stripes that march along the lights, made with a generator.
import time

led_count = getLEDCount()


def stripes(width):
    """Yield an endless pattern: width red LEDs, then width white ones."""
    while True:
        for colour in (RED, WHITE):
            for _ in range(width):
                yield colour


offset = 0
while True:
    pattern = stripes(4)
    for _ in range(offset % 8):
        next(pattern)
    setLEDs([next(pattern) for _ in range(led_count)])
    offset += 1
    time.sleep(0.1)  # ten steps a second
