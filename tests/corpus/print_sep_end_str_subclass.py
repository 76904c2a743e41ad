# tries: print(sep=..., end=...) with str subclasses whose methods would run inside the log writer (their text is copied: none runs)
# expect: completed ended
class S(str):
    def join(self, items):
        return 5

    def __add__(self, other):
        return 5


print("a", "b", sep=S(" "), end=S("\n"))
