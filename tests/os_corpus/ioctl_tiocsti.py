# tries: ioctl(TIOCSTI) to type into a terminal
# expect: completed ended
import ctypes

c = ctypes.c_char(b"x")
must_fail("ioctl", 2, 0x5412, ctypes.byref(c))
