# tries: process_vm_writev into the sibling
# expect: completed ended
import ctypes
import struct

libc = ctypes.CDLL(None, use_errno=True)


def sys_(name, *args):
    r = libc.syscall(NR[name], *args)
    return r, ctypes.get_errno()


def must_fail(name, *args):
    r, err = sys_(name, *args)
    if r >= 0:
        print("ESCAPED", name, r)
    else:
        print(name, "refused, errno", err)


buf = ctypes.create_string_buffer(64)
iov = ctypes.create_string_buffer(struct.pack("QQ", ctypes.addressof(buf), 64))
must_fail("process_vm_writev", SIBLING_PID, iov, 1, iov, 1, 0)
