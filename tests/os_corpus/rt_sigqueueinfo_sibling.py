# tries: rt_sigqueueinfo(sibling, SIGKILL, info)
# expect: completed ended
import ctypes

info = ctypes.create_string_buffer(128)
must_fail("rt_sigqueueinfo", SIBLING_PID, 9, info)
