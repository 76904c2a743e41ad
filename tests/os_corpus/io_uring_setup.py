# tries: io_uring_setup
# expect: completed ended
import ctypes

params = ctypes.create_string_buffer(120)
must_fail("io_uring_setup", 8, params)
