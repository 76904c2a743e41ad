# tries: os.execv('/bin/sh', ...)
# expect: completed ended
import ctypes
import os

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


try:
    os.execv("/bin/sh", ["sh", "-c", "touch " + MARKER])
except OSError as e:
    print("execv refused", e.errno)
