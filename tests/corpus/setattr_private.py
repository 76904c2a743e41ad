# tries: setattr a dunder to swap an object's class
# expect: rejected | failed error
class A:
    pass

a = A()
setattr(a, "__class__", type(print))
print("ESC" + "APED", a)
