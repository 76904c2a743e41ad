# 2021 tree style: typing annotations (Dict, List, Tuple) on a snow-drift simulation.
import random
from typing import Dict, List, Tuple

class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
    def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
        setLEDs([(r, g, b, 100) for g, r, b in self])
pixels = Pixels([(0, 0, 0)] * getLEDCount())
coords = [[x, y, z * 3.2] for x, y, z in getLEDPositions()]  # 2021 GIFT units


def below(index: int, count: int) -> List[int]:
    """The few LEDs just under this one."""
    here: Tuple[float, float, float] = tuple(coords[index])
    under = [j for j in range(len(coords)) if coords[j][2] < here[2]]
    under.sort(key=lambda j: sum((a - b) ** 2 for a, b in zip(coords[j], here)))
    return under[:count]


def snow() -> None:
    falls: Dict[int, List[int]] = {i: below(i, 3) for i in range(len(coords))}
    flakes: Dict[int, int] = {}
    top = sorted(range(len(coords)), key=lambda i: coords[i][2])[-10:]
    while True:
        flakes[random.choice(top)] = 5
        moved: Dict[int, int] = {}
        for led, life in flakes.items():
            if life > 1 and falls[led]:
                moved[random.choice(falls[led])] = life - 1
        flakes = moved
        for i in range(len(coords)):
            v = 50 * flakes.get(i, 0)
            pixels[i] = (v, v, v)
        pixels.show()


snow()
