# tries: _﹍class__ style names that NFKC-normalise to __class__
# expect: rejected
print("ESC" + "APED", ().﹍﹍class﹍﹍)
