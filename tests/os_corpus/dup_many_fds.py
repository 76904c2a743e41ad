# tries: dup the pipes hundreds of times
# expect: completed ended
import ctypes
import os

n = 0
for _ in range(500):
    try:
        os.dup(2)
        n += 1
    except OSError:
        break
print("dup", n)
if n > 16:
    print("ESCAPED fds", n)
