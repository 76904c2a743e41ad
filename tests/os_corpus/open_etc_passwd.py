# tries: read /etc/passwd
# expect: completed ended
import ctypes

must_fail("openat", -100, b"/etc/passwd", 0, 0)
