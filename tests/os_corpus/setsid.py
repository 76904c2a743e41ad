# tries: setsid(): leave the session and the process group
# expect: completed ended
import ctypes

must_fail("setsid")
