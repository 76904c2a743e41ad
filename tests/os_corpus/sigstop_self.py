# tries: stop itself (SIGSTOP, then SIGTSTP) after a frame: a stopped child must still die at the deadline
# expect: completed time_limit
import os, signal

setLEDs([(255, 0, 0, 100)] * getLEDCount())
os.kill(os.getpid(), signal.SIGSTOP)
os.kill(os.getpid(), signal.SIGTSTP)
print("ESCAPED: ran on after stopping itself")
