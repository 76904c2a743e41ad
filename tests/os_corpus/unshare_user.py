# tries: unshare(CLONE_NEWUSER) to become root in a namespace
# expect: completed ended
import ctypes

must_fail("unshare", 0x10000000)
