# tries: match class pattern keyword __class__ (getattr without the guard)
# expect: rejected | failed error
match ():
    case tuple(__class__=c):
        print("ESC" + "APED", c)
