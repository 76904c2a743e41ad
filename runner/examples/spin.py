# Spin
# Colours spin around the tree's trunk like a lighthouse beam.
import math
import time

positions = getLEDPositions()
# The angle of each LED around the trunk, worked out once.
angles = [math.atan2(y, x) / (2 * math.pi) for x, y, z in positions]
while True:
    turn = time.time() * 0.5
    frame = []
    for angle, (x, y, z) in zip(angles, positions):
        beam = (angle - turn) % 1.0
        frame.append(fromHSV(z * 0.3 + turn, 1, 1, round(100 * max(0.0, 1 - beam * 3))))
    setLEDs(frame)
