# tries: the log pipe written a byte at a time without end (one parent wake-up each, if it let it)
# expect: failed cpu_limit|completed time_limit
import os

while True:
    try:
        os.write(LOG_FD, b"x")
    except OSError:  # EPIPE: the runner read the log's budget and closed its end
        pass
