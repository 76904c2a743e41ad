# tries: a metaclass via class C(metaclass=M)
# expect: rejected | failed error
class M(type):
    pass

class C(metaclass=M):
    pass

print("ESC" + "APED", C)
