# tries: object.__getattribute__ to bypass the attribute guard
# expect: rejected
print("ESC" + "APED", object.__getattribute__((), "__class__"))
