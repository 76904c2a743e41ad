# tries: start a thread (threading.Thread)
# expect: completed ended
import ctypes

import threading

try:
    threading.Thread(target=lambda: print("ESCAPED thread")).start()
except RuntimeError as e:
    print("thread refused", e)
