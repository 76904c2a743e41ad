# tries: fork()
# expect: completed ended
import ctypes

must_fail("fork")
