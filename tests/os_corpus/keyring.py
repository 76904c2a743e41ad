# tries: add_key and keyctl
# expect: completed ended
import ctypes

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


must_fail("add_key", b"user", b"k", b"v", 1, -3)
must_fail("keyctl", 0, -3, 0)
