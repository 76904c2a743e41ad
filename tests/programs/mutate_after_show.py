# The frame is copied: changing the list after setLEDs returns changes nothing shown.
n = getLEDCount()
states = [[0, 0, 255, 100] for _ in range(n)]
setLEDs(states)
for s in states:
    s[0] = 255
print("mutated")
