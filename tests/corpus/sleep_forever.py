# tries: sleep far past the time limit
# expect: completed time_limit
import time
time.sleep(10**6)
