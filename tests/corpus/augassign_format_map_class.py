# tries: S.format_map += x on a str subclass: the real unbound str.format_map reaches x.__radd__
# expect: rejected
import random


class Grab:
    def __radd__(self, other):
        global real
        real = other
        return 0


class S(str):
    pass


S.format_map += Grab()
print("ESC" + "APED", real(S("{r.seed.__func__.__globals__[_os].environ}"), {"r": random}))
