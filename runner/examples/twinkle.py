# Twinkle
# Warm white stars that brighten and fade at random.
import random

led_count = getLEDCount()
level = [random.randint(0, 40) for _ in range(led_count)]
speed = [random.choice([-4, -3, 3, 4]) for _ in range(led_count)]
r, g, b, _ = WARM_WHITE
while True:
    for i in range(led_count):
        level[i] += speed[i]
        if level[i] >= 100 or level[i] <= 0:
            speed[i] = -speed[i]
            level[i] = max(0, min(100, level[i]))
    setLEDs([(r, g, b, level[i]) for i in range(led_count)])
