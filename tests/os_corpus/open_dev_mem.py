# tries: open /dev/mem
# expect: completed ended
import ctypes

must_fail("openat", -100, b"/dev/mem", 2, 0)
