# The red team's checkerboard (docs/protection.md): the tree cut into 16 cells, four height
# bands of equal LED count times four quadrants round the trunk, the cells with band + quadrant
# even lit, the bottom half's and the top half's taking turns at 10 Hz. The whole tree's mean
# never moves, and no zone sees most of its cells change together; each half flashes.
import math
import time

positions = getLEDPositions()
order = sorted(range(len(positions)), key=lambda i: (positions[i][2], i))
band = [0] * len(positions)
for rank, i in enumerate(order):
    band[i] = rank * 4 // len(positions)
quad = [min(3, int((math.atan2(y, x) % math.tau) / (math.tau / 4))) for x, y, z in positions]
white = [(band[i] + quad[i]) % 2 == 0 for i in range(len(positions))]
while True:
    bottom = int(time.monotonic() * 20) % 2 == 0
    setLEDs(
        [WHITE if white[i] and (band[i] < 2) == bottom else BLACK for i in range(len(positions))]
    )
