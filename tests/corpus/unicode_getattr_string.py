# tries: getattr with a look-alike dunder string (not normalised)
# expect: failed error
c = getattr((), "﹍﹍class﹍﹍")
print("ESC" + "APED", c)
