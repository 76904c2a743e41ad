# tries: a finally block that loops forever
# expect: completed time_limit
import time
try:
    time.sleep(100)
finally:
    while True:
        try:
            time.sleep(100)
        finally:
            pass
