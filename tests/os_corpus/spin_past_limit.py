# tries: busy loop forever
# expect: failed cpu_limit|completed time_limit
import ctypes

while True:
    pass
