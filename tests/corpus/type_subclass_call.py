# tries: subclass type and call it with three arguments
# expect: rejected | failed error
class T(type):
    pass

X = T("X", (), {"__getattribute__": lambda self, n: n})
print("ESC" + "APED", X)
