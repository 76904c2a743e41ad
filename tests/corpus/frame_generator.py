# tries: a generator instead of a list
# expect: failed invalid_frame
setLEDs(RED for _ in range(getLEDCount()))
