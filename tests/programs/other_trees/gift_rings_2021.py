# 2021 tree style: GIFT coordinates (x, y in -1..1, z in 0..3.2), float colours from sin().
import math
import time

class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
    def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
        setLEDs([(r, g, b, 100) for g, r, b in self])
pixels = Pixels([(0, 0, 0)] * getLEDCount())
coords = [[x, y, z * 3.2] for x, y, z in getLEDPositions()]  # 2021 GIFT units


def rings():
    frame_time = 1 / 30
    speed = 1.5
    start = time.time()
    while True:
        t = time.time() - start
        for i, (x, y, z) in enumerate(coords):
            wave = 0.5 + 0.5 * math.sin(4 * z - speed * t)
            pixels[i] = (255 * wave, 255 * (1 - wave), 64 * wave)
        pixels.show()
        time.sleep(frame_time)


if __name__ == "__main__":
    rings()
