# tries: match class pattern keyword gi_frame
# expect: rejected | failed error
g = (i for i in [1])
match g:
    case object(gi_frame=f):
        print("ESC" + "APED", f)
