# tries: ptrace(PTRACE_TRACEME)
# expect: completed ended
import ctypes

must_fail("ptrace", 0, 0, 0, 0)
