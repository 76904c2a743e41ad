# Sweep up the tree
# A band of colour rises from the bottom to the top, using each LED's position.
import math
import time

positions = getLEDPositions()  # (x, y, z) per LED; z is 0 at the bottom, 1 at the top
hue = 0.0
while True:
    height = (time.time() * 0.5) % 1.2 - 0.1  # from just below the tree to just above it
    frame = []
    for x, y, z in positions:
        glow = max(0.0, 1 - abs(z - height) * 8)  # 1 inside the band, fading out around it
        frame.append(fromHSV(hue, 1, 1, round(100 * glow)))
    setLEDs(frame)
    if height > 1.05:
        hue = (hue + 0.01) % 1  # a new colour for the next sweep
