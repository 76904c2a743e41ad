# tries: getattr with a str subclass whose startswith lies
# expect: failed error
class Sneaky(str):
    def startswith(self, *args):
        return False

c = getattr((), Sneaky("__class__"))
print("ESC" + "APED", c)
