# tries: openat2 on /etc/passwd
# expect: completed ended
import ctypes

how = ctypes.create_string_buffer(24)
must_fail("openat2", -100, b"/etc/passwd", how, 24)
