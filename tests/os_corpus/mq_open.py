# tries: POSIX message queue
# expect: completed ended
import ctypes

must_fail("mq_open", b"ledtree", 0o100 | 2, 0o666, 0)
