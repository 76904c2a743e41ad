# tries: SysV shared memory segment outside RLIMIT_AS
# expect: completed ended
import ctypes

must_fail("shmget", 0, 1 << 24, 0o1666)
