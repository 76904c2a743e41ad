# tries: brightness L above 100
# expect: failed invalid_frame
frame = [[0, 0, 255, 100]] * getLEDCount()
frame[3] = [0, 0, 255, 150]
setLEDs(frame)
