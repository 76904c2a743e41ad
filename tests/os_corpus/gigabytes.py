# tries: allocate 4 GB
# expect: failed memory_limit
import ctypes

x = bytearray(4 << 30)
print("ESCAPED memory", len(x))
