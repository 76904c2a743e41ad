# A program may catch the frame error; the message names the LED and the value.
n = getLEDCount()
states = [[0, 0, 255, 100] for _ in range(n)]
states[7] = [0, 0, 255, 150]
try:
    setLEDs(states)
except ValueError as exc:
    print("caught:", exc)
states[7][3] = 100
setLEDs(states)
