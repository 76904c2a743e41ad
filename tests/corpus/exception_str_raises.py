# tries: an uncaught exception whose __str__ raises another exception
# expect: failed error
class Nasty(Exception):
    def __str__(self):
        raise RuntimeError("from __str__")

raise Nasty()
