# tries: clone(SIGCHLD) as a raw syscall
# expect: completed ended
import ctypes

must_fail("clone", 17, 0, 0, 0, 0)
