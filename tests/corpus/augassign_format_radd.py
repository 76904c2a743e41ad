# tries: s.format += x on a str subclass instance: the implicit read is the real str.format, handed to x.__radd__
# expect: rejected
import random


class Grab:
    def __radd__(self, other):
        global real
        real = other
        return 0


class S(str):
    pass


s = S("{0.seed.__func__.__globals__[_os].environ}")
s.format += Grab()
print("ESC" + "APED", real(random))
