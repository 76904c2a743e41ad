# tries: vfork() as a raw syscall
# expect: completed ended
import ctypes

must_fail("vfork")
