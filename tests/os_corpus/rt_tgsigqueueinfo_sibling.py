# tries: rt_tgsigqueueinfo(sibling, sibling, SIGKILL, info)
# expect: completed ended
import ctypes

info = ctypes.create_string_buffer(128)
must_fail("rt_tgsigqueueinfo", SIBLING_PID, SIBLING_PID, 9, info)
