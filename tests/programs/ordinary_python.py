# Ordinary Python must work: classes, generators, comprehensions, f-strings, unpacking, try.
import math
from random import randint
import time as t


class Sparkle:
    def __init__(self, n):
        self.n = n
        self.count = 0

    def frames(self):
        for step in range(3):
            self.count += 1
            yield [fromHSV((i / self.n + step / 3) % 1.0, 1.0, 1.0) for i in range(self.n)]


n = getLEDCount()
first, *rest = getLEDPositions()
total = 0
for frame in Sparkle(n).frames():
    setLEDs(frame)
    total += len(frame)
try:
    {}["missing"]
except KeyError as exc:
    print(f"caught {exc!r}")
print(f"{total=} {round(math.sin(0.5), 3)} {0 <= randint(0, 9) <= 9} {t.monotonic() > 0}")
setLEDs(tuple((r, g, b, 50) for r, g, b, _ in [RED] * n))
