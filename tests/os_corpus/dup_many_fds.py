# tries: dup the pipes hundreds of times
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


n = 0
for _ in range(500):
    try:
        os.dup(2)
        n += 1
    except OSError:
        break
print("dup", n)
if n > 16:
    print("ESCAPED fds", n)
