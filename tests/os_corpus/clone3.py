# tries: clone3 with an empty argument block
# expect: completed ended
import ctypes

args = ctypes.create_string_buffer(88)
must_fail("clone3", args, 88)
