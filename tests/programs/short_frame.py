setLEDs([BLUE] * (getLEDCount() - 1))
