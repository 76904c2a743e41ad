# tries: catch SIGXCPU and keep spinning
# expect: failed cpu_limit|completed time_limit
import ctypes
import signal

signal.signal(signal.SIGXCPU, lambda *a: None)
while True:
    pass
