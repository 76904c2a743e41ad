# tries: queue blocked real-time signals to itself until the uid's pending-signal quota is full (no other child of the uid could start)
# expect: completed ended
import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGRTMIN})
sent = 0
for _ in range(200000):
    try:
        os.kill(os.getpid(), signal.SIGRTMIN)
        sent += 1
    except OSError:
        break
print('real-time signals queued:', sent)
if sent:
    print('ESCAPED real-time signal', sent)
