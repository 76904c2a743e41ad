# 2020 tree style: module-level _ORDER, a _helper() function and a class keeping self._list.
import random


def _shuffled(count):
    order = list(range(count))
    random.shuffle(order)
    return order


class _Sparkles:
    def __init__(self, count):
        self._list = [0.0] * count
        self._count = count

    def poke(self, index):
        self._list[index] = 1.0

    def fade(self):
        self._list = [v * 0.9 for v in self._list]
        return self._list


def xmaslight():
    class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
        def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
            setLEDs([(r, g, b, 100) for g, r, b in self])
    pixels = Pixels([(0, 0, 0)] * getLEDCount())
    coords = [[x * 250, y * 250, z * 900 - 450] for x, y, z in getLEDPositions()]  # 2020 units

    # YOU CAN EDIT FROM HERE DOWN
    _ORDER = _shuffled(len(coords))
    sparkles = _Sparkles(len(coords))
    step = 0
    while True:
        sparkles.poke(_ORDER[step % len(_ORDER)])
        for i, level in enumerate(sparkles.fade()):
            pixels[i] = [int(level * 255), int(level * 255), int(level * 255)]
        pixels.show()
        step += 1


xmaslight()
