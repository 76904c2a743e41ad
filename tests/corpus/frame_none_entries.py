# tries: None entries in a frame
# expect: failed invalid_frame
setLEDs([None] * getLEDCount())
