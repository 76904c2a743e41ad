# tries: catch SIGXCPU and keep spinning
# expect: failed cpu_limit|completed time_limit
import ctypes
import signal

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


signal.signal(signal.SIGXCPU, lambda *a: None)
while True:
    pass
