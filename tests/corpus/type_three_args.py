# tries: type(name, bases, dict) with dunder methods
# expect: rejected | failed error
T = type("T", (), {"__init__": lambda self: None, "__getattr__": lambda self, n: n})
print("ESC" + "APED", T)
