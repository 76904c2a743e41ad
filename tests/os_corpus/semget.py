# tries: SysV semaphore set
# expect: completed ended
import ctypes

must_fail("semget", 0x1ED7, 1, 0o1666)
