# tries: a fork bomb through multiprocessing and os.fork
# expect: rejected
import multiprocessing
import os
while True:
    os.fork()
    multiprocessing.Process(target=print).start()
