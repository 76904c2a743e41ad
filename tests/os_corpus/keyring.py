# tries: add_key and keyctl
# expect: completed ended
import ctypes

must_fail("add_key", b"user", b"k", b"v", 1, -3)
must_fail("keyctl", 0, -3, 0)
