# tries: float channel values that are not colours (floats in range are truncated since issue 10)
# expect: failed invalid_frame
setLEDs([[float("nan"), 0, 256.0, 100]] * getLEDCount())
