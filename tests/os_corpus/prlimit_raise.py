# tries: prlimit64 to raise its own address-space limit
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


lim = ctypes.create_string_buffer(struct.pack("QQ", 1 << 40, 1 << 40))
must_fail("prlimit64", 0, 9, lim, 0)
