# tries: a dict keyed by LED index
# expect: failed invalid_frame
setLEDs({i: RED for i in range(getLEDCount())})
