# tries: kill(-1, SIGKILL): every process the uid may signal
# expect: completed ended
import ctypes

must_fail("kill", -1, 9)
