# tries: a string of the right length as the frame
# expect: failed invalid_frame
setLEDs("x" * getLEDCount())
