# tries: mount a tmpfs
# expect: completed ended
import ctypes

must_fail("mount", b"none", b"/tmp", b"tmpfs", 0, 0)
