# tries: negative channel values
# expect: failed invalid_frame
setLEDs([[0, -1, 0, 100]] * getLEDCount())
