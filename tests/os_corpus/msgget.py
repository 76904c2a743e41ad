# tries: SysV message queue: a channel between runs
# expect: completed ended
import ctypes

must_fail("msgget", 0x1ED7, 0o1666)
