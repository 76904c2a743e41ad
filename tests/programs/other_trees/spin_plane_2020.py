# 2020 tree style: everything inside xmaslight(), GRB colours, a plane turning through the tree.
def xmaslight():
    import time
    import math

    class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
        def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
            setLEDs([(r, g, b, 100) for g, r, b in self])
    pixels = Pixels([(0, 0, 0)] * getLEDCount())
    coords = [[x * 250, y * 250, z * 900 - 450] for x, y, z in getLEDPositions()]  # 2020 units

    # YOU CAN EDIT FROM HERE DOWN
    heights = [c[2] for c in coords]
    low, high = min(heights), max(heights)
    angle = 0
    pivot = (low + high) / 2
    direction = 1
    colour_a = [0, 60, 30]  # GRB: red with a little blue
    colour_b = [60, 60, 0]  # GRB: yellow
    run = 1
    while run == 1:
        LED = 0
        while LED < len(coords):
            if math.tan(angle) * coords[LED][0] <= coords[LED][2] - pivot:
                pixels[LED] = colour_a
            else:
                pixels[LED] = colour_b
            LED += 1
        pixels.show()
        angle += 0.08
        if angle > 2 * math.pi:
            angle -= 2 * math.pi
        pivot += direction * 4
        if pivot > high - 150 or pivot < low + 150:
            direction = -direction
        time.sleep(0.01)
    return 'DONE'


xmaslight()
