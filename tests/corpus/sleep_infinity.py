# tries: time.sleep(float('inf'))
# expect: failed error | completed time_limit
import time
time.sleep(float("inf"))
