# Allocates a gigabyte, then would light the tree red if that worked.
block = "x" * (1024 * 1024 * 1024)
setLEDs([RED] * getLEDCount())
print("ESC" + "APED", len(block))
