# tries: ptrace(PTRACE_ATTACH) the sibling
# expect: completed ended
import ctypes

must_fail("ptrace", 16, SIBLING_PID, 0, 0)
