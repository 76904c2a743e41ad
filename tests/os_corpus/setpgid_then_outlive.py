# tries: setpgid(0, 0) to leave the group the parent kills, then spin past the limit
# expect: failed cpu_limit|completed time_limit
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


must_fail("setpgid", 0, 0)
while True:
    pass
