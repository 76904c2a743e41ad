# tries: setLEDs in a tight loop forever
# expect: completed time_limit
n = getLEDCount()
while True:
    setLEDs([RED] * n)
    setLEDs([BLUE] * n)
