# tries: R above 255
# expect: failed invalid_frame
setLEDs([[256, 0, 0, 100]] * getLEDCount())
