# tries: getattr with a dunder name as a string
# expect: failed error
c = getattr((), "__class__")
print("ESC" + "APED", c)
