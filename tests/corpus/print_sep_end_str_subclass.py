# tries: print(sep=..., end=...) with str subclasses whose methods run inside the log writer
# expect: failed error
class S(str):
    def join(self, items):
        return 5

    def __add__(self, other):
        return 5


print("a", "b", sep=S(" "), end=S("\n"))
