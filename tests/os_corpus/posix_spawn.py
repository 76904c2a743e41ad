# tries: os.posix_spawn('/bin/touch', ...)
# expect: completed ended
import ctypes
import os

try:
    os.posix_spawn("/bin/touch", ["touch", MARKER], {})
    print("ESCAPED spawn")
except OSError as e:
    print("posix_spawn refused", e.errno)
