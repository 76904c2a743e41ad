# tries: a frame one LED long
# expect: failed invalid_frame
setLEDs([RED] * (getLEDCount() + 1))
