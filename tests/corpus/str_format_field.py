# tries: str.format field access to __class__ (CVE-2023-41039 class)
# expect: failed error
print("ESC" + "APED" + "{0.__class__.__mro__}".format(1))
