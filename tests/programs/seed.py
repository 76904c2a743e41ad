# The seed's example: every LED blue at full brightness.
led_count = getLEDCount()
states = [[0, 0, 255, 100] for _ in range(led_count)]
setLEDs(states)
