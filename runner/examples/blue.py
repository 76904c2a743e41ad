# Every LED blue
# The smallest tree program: one frame, every LED blue at full brightness.
led_count = getLEDCount()
states = [[0, 0, 255, 100] for _ in range(led_count)]
setLEDs(states)  # or: setLEDs([BLUE] * led_count)
