# 2020 tree style: a colour spreads to nearby LEDs and fades by a float factor each step.
import random
import math


def xmaslight():
    class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
        def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
            setLEDs([(r, g, b, 100) for g, r, b in self])
    pixels = Pixels([(0, 0, 0)] * getLEDCount())
    coords = [[x * 250, y * 250, z * 900 - 450] for x, y, z in getLEDPositions()]  # 2020 units

    # YOU CAN EDIT FROM HERE DOWN
    def distance(a, b):
        return math.sqrt(sum((p - q) ** 2 for p, q in zip(a, b)))

    # each LED's closest neighbours, worked out once
    neighbours = []
    for i, here in enumerate(coords):
        near = sorted(range(len(coords)), key=lambda j: distance(here, coords[j]))
        neighbours.append(near[1:5])

    level = [0.0] * len(coords)
    infected = {random.randrange(len(coords))}
    while True:
        spread = set()
        for i in infected:
            level[i] = 1.0
            for j in neighbours[i]:
                if random.random() < 0.3:
                    spread.add(j)
        infected = spread if spread else {random.randrange(len(coords))}
        for i in range(len(coords)):
            level[i] *= 0.85
            pixels[i] = [level[i] * 40, level[i] * 12.2, level[i] * 90]
        pixels.show()


xmaslight()
