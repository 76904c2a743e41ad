# tries: tkill(sibling, SIGKILL)
# expect: completed ended
import ctypes

must_fail("tkill", SIBLING_PID, 9)
