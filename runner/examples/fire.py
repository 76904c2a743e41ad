# Fire
# Flickering flames: hot yellow at the bottom of the tree, dark red embers at the top.
import random

positions = getLEDPositions()
heat = [0.0] * len(positions)
while True:
    frame = []
    for i, (x, y, z) in enumerate(positions):
        target = (1 - z) * random.uniform(0.5, 1.0)  # hotter near the ground
        heat[i] += (target - heat[i]) * 0.3  # ease towards it, so it flickers but does not flash
        hue = 0.12 * heat[i]  # 0 is red, 0.12 is orange-yellow
        frame.append(fromHSV(hue, 1, 1, round(15 + 85 * heat[i])))
    setLEDs(frame)
