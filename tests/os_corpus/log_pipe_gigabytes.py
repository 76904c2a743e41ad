# tries: the log pipe written 1 MiB at a time without end (memory and reads of the parent)
# expect: failed cpu_limit|completed time_limit
import os

chunk = b"\xf0\x9f\x8e\x84" * (1 << 18)  # a tree emoji; cut anywhere by the parent's reads
while True:
    try:
        os.write(LOG_FD, chunk)
    except OSError:  # EPIPE: the runner read the log's budget and closed its end
        pass
