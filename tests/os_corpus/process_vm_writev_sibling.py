# tries: process_vm_writev into the sibling
# expect: completed ended
import ctypes
import struct

buf = ctypes.create_string_buffer(64)
iov = ctypes.create_string_buffer(struct.pack("QQ", ctypes.addressof(buf), 64))
must_fail("process_vm_writev", SIBLING_PID, iov, 1, iov, 1, 0)
