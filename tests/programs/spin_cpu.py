# One long C-level computation: no Python-level timeout can interrupt it, RLIMIT_CPU can.
x = 10 ** 10 ** 10
setLEDs([RED] * getLEDCount())
print("ESC" + "APED")
