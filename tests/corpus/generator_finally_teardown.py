# tries: a generator whose finally runs forever at interpreter teardown
# expect: completed ended | completed time_limit
import time

def g():
    try:
        yield 1
    finally:
        while True:
            time.sleep(1)

keep = g()
next(keep)
setLEDs([GREEN] * getLEDCount())
