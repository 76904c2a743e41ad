# tries: a 100-digit channel value
# expect: failed invalid_frame
setLEDs([[10**100, 0, 0, 100]] * getLEDCount())
