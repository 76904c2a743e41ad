# tries: match a str subclass instance, capturing format by keyword
# expect: rejected | failed error
class S(str):
    pass

match S("{0.__class__.__mro__}"):
    case S(format=fmt):
        print("ESC" + "APED", fmt(1))
