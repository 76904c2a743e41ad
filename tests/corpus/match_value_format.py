# tries: a value pattern case S.format: reads the real str.format unguarded and hands it to the subject's __eq__
# expect: rejected
import random


class Grab:
    def __eq__(self, other):
        global real
        real = other
        return True


class S(str):
    pass


match Grab():
    case S.format:
        pass
print("ESC" + "APED", real(S("{0.seed.__func__.__globals__[_os].environ}"), random))
