# tries: match class pattern keyword format on a str
# expect: rejected | failed error
match "{0.__class__}":
    case str(format=fmt):
        print("ESC" + "APED" + fmt(1))
