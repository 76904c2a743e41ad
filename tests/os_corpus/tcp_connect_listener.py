# tries: connect to a listener on 127.0.0.1
# expect: completed ended
import ctypes

import socket

try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", PORT))
    print("ESCAPED connect")
except OSError as e:
    print("socket refused", e.errno)
