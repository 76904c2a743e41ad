# tries: a property/classmethod/staticmethod wrapping str.format in a str subclass, then a field path through it
# expect: failed error
import random


class S(str):
    fm = property(lambda self: str.format)
    sm = staticmethod(str.format)
    cm = classmethod(str.format)


s = S("{0.seed.__func__.__globals__[_os].environ}")
for f in (s.fm, s.sm, S.sm):
    try:
        print("ESC" + "APED", f(s, random))
    except AttributeError as e:
        print("stopped:", e)
print("ESC" + "APED", s.cm(random))
