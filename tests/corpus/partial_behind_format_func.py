# tries: the functools.partial behind "".format: its func/args, then call the safe formatter with a field path
# expect: failed error
import random

try:
    "{0}".format.nope
except AttributeError as e:
    p = e.obj
print(p.func, p.args, p.keywords)
safe = p.func
print("ESC" + "APED", safe("{0.seed.__func__.__globals__[_os].environ}", random))
