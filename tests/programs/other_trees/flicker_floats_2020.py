# 2020 tree style: colours scaled by a float brightness (int(r * f) was the LED library's job).
def xmaslight():
    import time
    import math
    import random

    class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
        def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
            setLEDs([(r, g, b, 100) for g, r, b in self])
    pixels = Pixels([(0, 0, 0)] * getLEDCount())
    coords = [[x * 250, y * 250, z * 900 - 450] for x, y, z in getLEDPositions()]  # 2020 units

    # YOU CAN EDIT FROM HERE DOWN
    top = max(c[2] for c in coords)
    bottom = min(c[2] for c in coords)
    flame = [0.5] * len(coords)
    brightness = 0.8
    while True:
        for i in range(len(coords)):
            # hotter near the bottom, a random walk per LED
            flame[i] = min(1.0, max(0.0, flame[i] + random.uniform(-0.15, 0.15)))
            lift = 1 - (coords[i][2] - bottom) / (top - bottom)
            heat = flame[i] * lift
            pixels[i] = [60 * heat * heat * brightness, 250 * heat * brightness, 5.5 * brightness]
        pixels.show()
        brightness = 0.6 + 0.2 * math.sin(time.time() * 3)


xmaslight()
