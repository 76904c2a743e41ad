# tries: an uncaught exception whose __str__ and __repr__ call each other forever (RecursionError while the error is described)
# expect: failed error
class Loop(Exception):
    def __str__(self):
        return repr(self)

    def __repr__(self):
        return str(self)


raise Loop()
