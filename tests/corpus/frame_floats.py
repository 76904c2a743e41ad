# tries: float channel values
# expect: failed invalid_frame
setLEDs([[0.5, 0, 0, 100]] * getLEDCount())
