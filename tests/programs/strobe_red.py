# A 10 Hz saturated red strobe: red and black alternate every 50 ms (ten red flashes a second).
import time

led_count = getLEDCount()
while True:
    on = int(time.monotonic() * 20) % 2 == 0
    setLEDs([RED if on else BLACK] * led_count)
