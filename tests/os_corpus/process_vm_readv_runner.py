# tries: process_vm_readv from the runner's memory
# expect: completed ended
import ctypes
import struct

buf = ctypes.create_string_buffer(64)
iov = struct.pack("QQ", ctypes.addressof(buf), 64)
local = ctypes.create_string_buffer(iov)
must_fail("process_vm_readv", RUNNER_PID, local, 1, local, 1, 0)
