# tries: a frame one LED short
# expect: failed invalid_frame
setLEDs([RED] * (getLEDCount() - 1))
