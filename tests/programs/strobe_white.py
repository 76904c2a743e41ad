# A 10 Hz full-tree strobe: white and black alternate every 50 ms (ten flashes a second).
import time

led_count = getLEDCount()
while True:
    on = int(time.monotonic() * 20) % 2 == 0
    setLEDs([WHITE if on else BLACK] * led_count)
