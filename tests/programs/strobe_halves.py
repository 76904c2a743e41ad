# Top and bottom halves of the tree strobe in antiphase at 10 Hz: the whole tree's mean light
# never changes, but each half flashes ten times a second.
import time

positions = getLEDPositions()
while True:
    on = int(time.monotonic() * 20) % 2 == 0
    setLEDs([WHITE if (z >= 0.5) == on else BLACK for x, y, z in positions])
