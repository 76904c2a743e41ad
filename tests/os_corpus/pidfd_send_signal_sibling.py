# tries: pidfd_open + pidfd_send_signal on the sibling
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


r, err = sys_("pidfd_open", SIBLING_PID, 0)
print("pidfd_open", r, err)
must_fail("pidfd_send_signal", r if r >= 0 else 3, 9, 0, 0)
