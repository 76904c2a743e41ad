# tries: memfd_create: anonymous file, later executable
# expect: completed ended
import ctypes

must_fail("memfd_create", b"x", 0)
