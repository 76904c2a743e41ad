# tries: perf_event_open
# expect: completed ended
import ctypes

attr = ctypes.create_string_buffer(128)
must_fail("perf_event_open", attr, 0, -1, -1, 0)
