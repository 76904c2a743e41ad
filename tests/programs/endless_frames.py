# An endless animation: ends at the time limit, which is a normal "completed" run.
n = getLEDCount()
step = 0
while True:
    step += 1
    setLEDs([(step % 256, 0, 0, 100)] * n)
