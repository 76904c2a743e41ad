# tries: mutate the frame's lists after setLEDs returned
# expect: completed ended
n = getLEDCount()
frame = [[0, 0, 255, 100] for _ in range(n)]
setLEDs(frame)
for led in frame:
    led[0] = 999
    led[3] = 999
frame.append([1, 2, 3])
frame.clear()
