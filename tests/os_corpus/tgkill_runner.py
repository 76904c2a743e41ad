# tries: tgkill(runner, runner, SIGURG)
# expect: completed ended
import ctypes

must_fail("tgkill", RUNNER_PID, RUNNER_PID, 23)
