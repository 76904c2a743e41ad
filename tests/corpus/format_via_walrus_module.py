# tries: walrus-rebind time to a str, then time.format
# expect: failed error
import time
if (time := "{0.__class__}"):
    print("ESC" + "APED" + time.format(1))
