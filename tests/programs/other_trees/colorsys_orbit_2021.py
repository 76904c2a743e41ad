# 2021 tree style: colorsys.hsv_to_rgb for a rainbow round the trunk, float channels.
import math
import time
from colorsys import hsv_to_rgb

class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
    def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
        setLEDs([(r, g, b, 100) for g, r, b in self])
pixels = Pixels([(0, 0, 0)] * getLEDCount())
coords = [[x, y, z * 3.2] for x, y, z in getLEDPositions()]  # 2021 GIFT units


def orbit():
    speed = 0.3
    while True:
        t = time.time()
        for i, (x, y, z) in enumerate(coords):
            hue = (speed * t + math.atan2(x, y) / (2 * math.pi)) % 1
            red, green, blue = hsv_to_rgb(hue, 1, 1)
            pixels[i] = (255 * green, 255 * red, 255 * blue)
        pixels.show()
        time.sleep(1 / 30)


if __name__ == "__main__":
    orbit()
