# tries: pidfd_open + pidfd_send_signal on the sibling
# expect: completed ended
import ctypes

r, err = sys_("pidfd_open", SIBLING_PID, 0)
print("pidfd_open", r, err)
must_fail("pidfd_send_signal", r if r >= 0 else 3, 9, 0, 0)
