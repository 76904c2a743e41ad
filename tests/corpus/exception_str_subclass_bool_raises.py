# tries: __str__ returns a str subclass whose __getitem__ hands the runner an object whose __bool__ raises
# expect: failed error
class Poison:
    def encode(self, *args):
        return self

    def decode(self, *args):
        return self

    def __bool__(self):
        raise ValueError("from __bool__ inside the runner")


class S(str):
    def __getitem__(self, key):
        return Poison()


class Nasty(Exception):
    def __str__(self):
        return S("hi")


raise Nasty()
