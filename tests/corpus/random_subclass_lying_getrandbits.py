# tries: a Random subclass whose getrandbits lies, so randint hands setLEDs values outside 0-255
# expect: failed error
import random


class Liar(random.Random):
    def getrandbits(self, k):
        return 7

    def random(self):
        return 1.5


r = Liar()
n = getLEDCount()
setLEDs([(r.randrange(256), r.randint(0, 255), int(r.random() * 255), 100) for _ in range(n)])
