# tries: fcntl(F_SETPIPE_SZ) to buffer a megabyte of frames
# expect: completed ended
import ctypes

must_fail("fcntl", 1, 1031, 1 << 20)
