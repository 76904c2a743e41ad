# tries: os.execv('/bin/sh', ...)
# expect: completed ended
import ctypes
import os

try:
    os.execv("/bin/sh", ["sh", "-c", "touch " + MARKER])
except OSError as e:
    print("execv refused", e.errno)
