# tries: tgkill(sibling, sibling, SIGKILL)
# expect: completed ended
import ctypes

must_fail("tgkill", SIBLING_PID, SIBLING_PID, 9)
