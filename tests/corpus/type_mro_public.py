# tries: public mro() to object, then __subclasses__ by getattr
# expect: failed error
base = type(()).mro()[-1]
subs = getattr(base, "__subclasses__")()
print("ESC" + "APED", len(subs))
