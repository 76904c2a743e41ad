# tries: start a thread bomb
# expect: rejected
import threading
def bomb():
    while True:
        threading.Thread(target=bomb).start()
bomb()
