# tries: ignore SIGALRM, block signals, sleep forever
# expect: completed time_limit
import ctypes
import signal
import time

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


signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, range(1, 32))
time.sleep(3600)
