# tries: generator gi_yieldfrom and gi_code
# expect: rejected
def inner():
    yield 1

def outer():
    yield from inner()

g = outer()
next(g)
print("ESC" + "APED", g.gi_yieldfrom.gi_code.co_code)
