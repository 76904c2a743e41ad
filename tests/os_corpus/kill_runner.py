# tries: kill(SIGURG) the runner (the supervising process)
# expect: completed ended
import ctypes

must_fail("kill", RUNNER_PID, 23)
