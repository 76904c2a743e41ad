# tries: bool channel values
# expect: failed invalid_frame
setLEDs([[True, False, True, 100]] * getLEDCount())
