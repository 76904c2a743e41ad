# tries: setuid(0)
# expect: completed ended
import ctypes

must_fail("setuid", 0)
