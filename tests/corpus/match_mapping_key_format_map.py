# tries: a mapping pattern key case {S.format_map: v}: the real str.format_map reaches a dict subclass's get()
# expect: rejected
import random


class D(dict):
    def get(self, key, default=None):
        global real
        real = key
        return 1


class S(str):
    pass


match D(a=1):
    case {S.format_map: v}:
        pass
print("ESC" + "APED", real(S("{r.seed.__func__.__globals__[_os].environ}"), {"r": random}))
