# tries: map executable memory
# expect: completed ended
import ctypes

must_fail("mmap", 0, 4096, 7, 0x22, -1, 0)
buf = libc.mmap
print("done")
