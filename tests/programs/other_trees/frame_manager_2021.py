# 2021 tree style: a FrameManager helper class copied in, with private _frame_time attributes.
import time
import math

class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
    def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
        setLEDs([(r, g, b, 100) for g, r, b in self])
pixels = Pixels([(0, 0, 0)] * getLEDCount())
coords = [[x, y, z * 3.2] for x, y, z in getLEDPositions()]  # 2021 GIFT units


class FrameManager:
    """Holds each frame for frame_time seconds, however long the frame took to draw."""

    def __init__(self, frame_time):
        self._frame_time = frame_time
        self._began = 0.0

    def __enter__(self):
        self._began = time.time()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        left = self._frame_time - (time.time() - self._began)
        if left > 0:
            time.sleep(left)


def spin():
    angle = 0.0
    while True:
        with FrameManager(1 / 30):
            for i, (x, y, z) in enumerate(coords):
                side = math.cos(angle) * x + math.sin(angle) * y
                pixels[i] = (200, 30, 0) if side > 0 else (0, 30, 200)
            pixels.show()
            angle += 0.1


if __name__ == "__main__":
    spin()
