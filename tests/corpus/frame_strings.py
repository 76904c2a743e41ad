# tries: colour strings instead of tuples
# expect: failed invalid_frame
setLEDs(["#ff0000"] * getLEDCount())
