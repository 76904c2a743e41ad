# Every LED full white, again and again: far more current than a supply gives on a big tree.
led_count = getLEDCount()
while True:
    setLEDs([WHITE] * led_count)
