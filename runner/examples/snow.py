# Snow
# Snowflakes drift down the tree over a deep blue night.
import random


class Flake:
    """One snowflake: where it is and how fast it falls."""

    def __init__(self):
        self.start(height=1.0 + random.random())  # spread out above the tree at first

    def start(self, height):
        self.z = height
        self.speed = random.uniform(0.005, 0.015)

    def fall(self):
        self.z -= self.speed
        if self.z < -0.1:  # melted at the bottom: a new one starts at the top
            self.start(height=1.05)


positions = getLEDPositions()
flakes = [Flake() for _ in range(max(1, len(positions) // 10))]
night = (0, 10, 60, 30)
while True:
    frame = [night] * len(positions)
    for flake in flakes:
        flake.fall()
    for i, (x, y, z) in enumerate(positions):
        for flake in flakes:
            if abs(z - flake.z) < 0.02:
                frame[i] = WHITE
    setLEDs(frame)
