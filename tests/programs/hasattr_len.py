# 2021 tree style: hasattr(x, "__len__") to tell a colour sequence from a number; ledtree refuses it loudly.
import time

class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
    def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
        setLEDs([(r, g, b, 100) for g, r, b in self])
pixels = Pixels([(0, 0, 0)] * getLEDCount())
coords = [[x, y, z * 3.2] for x, y, z in getLEDPositions()]  # 2021 GIFT units


def as_grb(colour):
    """A grey level or a (g, r, b) colour, as a (g, r, b) colour."""
    if hasattr(colour, "__len__"):
        return tuple(colour)
    return (colour, colour, colour)


def steps():
    palette = [40, (0, 200, 0), (200, 0, 0), 120]
    k = 0
    while True:
        for i, (x, y, z) in enumerate(coords):
            pixels[i] = as_grb(palette[(k + int(z * 4)) % len(palette)])
        pixels.show()
        k += 1
        time.sleep(0.1)


steps()
