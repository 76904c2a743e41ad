# tries: userfaultfd
# expect: completed ended
import ctypes

must_fail("userfaultfd", 0)
