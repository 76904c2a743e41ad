# tries: inside a running generator, reach its own frame via a reference to itself
# expect: failed error
def gen():
    me = yield
    yield getattr(getattr(me, "gi_frame"), "f_back")

g = gen()
next(g)
print("ESC" + "APED", g.send(g))
