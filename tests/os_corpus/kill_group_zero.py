# tries: kill(0, SIGKILL): the whole process group
# expect: completed ended
import ctypes

must_fail("kill", 0, 9)
