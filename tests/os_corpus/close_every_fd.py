# tries: close every fd it holds (records, ACKs, stderr, the log pipe), then spin
# expect: failed killed | failed crashed
# The parent sees EOF on the record pipe, stops waiting, and kills the child at once.
import os

setLEDs([(255, 0, 0, 100)] * getLEDCount())
for fd in range(64):
    try:
        os.close(fd)
    except OSError:
        pass
while True:
    pass
