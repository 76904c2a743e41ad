# A slow rainbow: every hue along the string, turning once every ten seconds.
import time

led_count = getLEDCount()
start = time.monotonic()
while True:
    shift = (time.monotonic() - start) * 0.1
    setLEDs([fromHSV(i / led_count + shift, 1, 1) for i in range(led_count)])
