# tries: prctl(PR_SET_DUMPABLE, 1)
# expect: completed ended
import ctypes

must_fail("prctl", 4, 1, 0, 0, 0)
