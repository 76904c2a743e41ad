# 2020 tree style: random spheres grow from random points, whole-number GRB colours.
import random
import time


def random_colour():
    return [random.randint(0, 80), random.randint(0, 80), random.randint(0, 80)]


def xmaslight():
    class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
        def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
            setLEDs([(r, g, b, 100) for g, r, b in self])
    pixels = Pixels([(0, 0, 0)] * getLEDCount())
    coords = [[x * 250, y * 250, z * 900 - 450] for x, y, z in getLEDPositions()]  # 2020 units

    # YOU CAN EDIT FROM HERE DOWN
    while True:
        centre = random.choice(coords)
        colour = random_colour()
        for radius in range(0, 900, 60):
            for LED, coord in enumerate(coords):
                d2 = sum((coord[k] - centre[k]) ** 2 for k in range(3))
                if d2 <= radius * radius:
                    pixels[LED] = colour
            pixels.show()
            time.sleep(0.02)


xmaslight()
