# tries: socketpair
# expect: completed ended
import ctypes

must_fail("socketpair", 1, 1, 0, ctypes.create_string_buffer(8))
