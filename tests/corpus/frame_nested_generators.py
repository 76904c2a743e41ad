# tries: generators as LED entries
# expect: failed invalid_frame
setLEDs([(c for c in RED) for _ in range(getLEDCount())])
