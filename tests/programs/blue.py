setLEDs([BLUE] * getLEDCount())
