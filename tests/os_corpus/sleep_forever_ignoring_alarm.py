# tries: ignore SIGALRM, block signals, sleep forever
# expect: completed time_limit
import ctypes
import signal
import time

signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, range(1, 32))
time.sleep(3600)
