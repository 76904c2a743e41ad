# Black, a pause, then a burst of seven black/white changes (red team, round three).
import time

n = getLEDCount()
W = [[255, 255, 255, 100]] * n
B = [[0, 0, 0, 0]] * n
for _ in range(3):
    setLEDs(B)
    time.sleep(0.95)
    for i in range(7):
        setLEDs(W if i % 2 == 0 else B)
time.sleep(0.3)
