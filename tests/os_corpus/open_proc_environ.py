# tries: read the runner's environment from /proc
# expect: completed ended
import ctypes

must_fail("openat", -100, ("/proc/%d/environ" % RUNNER_PID).encode(), 0, 0)
