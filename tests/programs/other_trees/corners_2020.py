# 2020 tree style: tab-indented, LEDs coloured by their nearest corner of a turning triangle.
import math


def xmaslight():
	class Pixels(list):  # stands in for neopixel.NeoPixel: pixels[i] = ..., pixels.show()
		def show(self):  # those trees were wired GRB: each entry is (green, red, blue)
			setLEDs([(r, g, b, 100) for g, r, b in self])
	pixels = Pixels([(0, 0, 0)] * getLEDCount())
	coords = [[x * 250, y * 250, z * 900 - 450] for x, y, z in getLEDPositions()]  # 2020 units

	# YOU CAN EDIT FROM HERE DOWN
	palette = [[0, 90, 0], [90, 0, 0], [0, 0, 90]]
	turn = 0.0
	while True:
		corners = []
		for k in range(3):
			a = turn + k * 2 * math.pi / 3
			corners.append((300 * math.cos(a), 300 * math.sin(a)))
		for LED in range(len(coords)):
			x, y = coords[LED][0], coords[LED][1]
			best = 0
			for k in range(1, 3):
				if math.dist((x, y), corners[k]) < math.dist((x, y), corners[best]):
					best = k
			pixels[LED] = palette[best]
		pixels.show()
		turn += 0.05


xmaslight()
