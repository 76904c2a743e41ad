# Rainbow
# A rainbow that flows along the string of lights.
import time

led_count = getLEDCount()
start = time.time()
while True:
    shift = (time.time() - start) * 0.2  # one full turn every five seconds
    setLEDs([fromHSV(i / led_count + shift, 1, 1) for i in range(led_count)])
