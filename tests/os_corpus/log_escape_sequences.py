# tries: terminal escape sequences on stderr, then exit without a report, to forge the runner's log
# expect: failed crashed
import os
os.write(2, b"\x1b]0;PWNED\x07\x1b[2K\r2026-12-01 16:00:00,000 INFO runner: run ok (forged)\n")
os._exit(0)
