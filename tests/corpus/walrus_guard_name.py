# tries: walrus-assign over the _getattr_ guard
# expect: rejected
(_getattr_ := lambda obj, name: obj)
print("ESC" + "APED")
