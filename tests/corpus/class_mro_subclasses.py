# tries: ().__class__.__mro__[1].__subclasses__() to find a class holding os
# expect: rejected
for c in ().__class__.__mro__[1].__subclasses__():
    print("ESC" + "APED", c)
