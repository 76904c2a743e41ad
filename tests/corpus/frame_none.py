# tries: None as a frame
# expect: failed invalid_frame
setLEDs(None)
