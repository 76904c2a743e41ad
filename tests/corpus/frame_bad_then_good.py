# tries: catch the ValueError of a bad frame, then show a good one
# expect: completed ended
n = getLEDCount()
try:
    setLEDs([[0, 0, 0, 101]] * n)
except ValueError as e:
    print("caught:", e)
setLEDs([GREEN] * n)
