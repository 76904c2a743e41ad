# tries: __str__ returns a str subclass whose slice is not text, so the report is not JSON
# expect: failed error
class Poison:
    def encode(self, *args):
        return self

    def decode(self, *args):
        return self

    def __str__(self):
        return "poison"


class S(str):
    def __getitem__(self, key):
        return Poison()


class Nasty(Exception):
    def __str__(self):
        return S("hi")


raise Nasty()
