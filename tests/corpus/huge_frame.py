# tries: one frame of ten million LEDs
# expect: failed invalid_frame | failed error
setLEDs([[0, 0, 0, 0]] * 10**7)
