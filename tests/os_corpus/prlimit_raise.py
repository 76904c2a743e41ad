# tries: prlimit64 to raise its own address-space limit
# expect: completed ended
import ctypes
import struct

lim = ctypes.create_string_buffer(struct.pack("QQ", 1 << 40, 1 << 40))
must_fail("prlimit64", 0, 9, lim, 0)
