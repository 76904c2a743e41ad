# tries: kill(SIGKILL) a sibling process of the child's own uid
# expect: completed ended
import ctypes

must_fail("kill", SIBLING_PID, 9)
