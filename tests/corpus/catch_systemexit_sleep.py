# tries: catch SystemExit/KeyboardInterrupt around sleep and keep sleeping
# expect: completed time_limit
import time
while True:
    try:
        time.sleep(100)
    except (SystemExit, KeyboardInterrupt, BaseException):
        pass
