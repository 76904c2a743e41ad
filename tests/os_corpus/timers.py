# tries: alarm, setitimer and timer_settime: disarm or re-arm the kernel's kill timer
# expect: completed ended
import ctypes, signal
libc = ctypes.CDLL(None, use_errno=True)
try:
    signal.setitimer(signal.ITIMER_REAL, 0)
    print('ESCAPED setitimer')
except OSError as e:
    print('setitimer refused', e.errno)
r = libc.alarm(0)
print('alarm', r, ctypes.get_errno())
r = libc.timer_settime(ctypes.c_void_p(0), 0, ctypes.create_string_buffer(32), None)
print('timer_settime', r, ctypes.get_errno())
if r == 0:
    print('ESCAPED timer_settime')
