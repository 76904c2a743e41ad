# tries: subprocess.run(['touch', MARKER])
# expect: completed ended
import ctypes

import subprocess

try:
    subprocess.run(["touch", MARKER])
    print("ESCAPED subprocess")
except OSError as e:
    print("subprocess refused", e.errno)
