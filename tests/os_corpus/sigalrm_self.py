# tries: kill itself with SIGALRM at once, hoping to be reported as reaching its time limit
# expect: failed killed
import os, signal
setLEDs([RED] * getLEDCount())
os.kill(os.getpid(), signal.SIGALRM)
