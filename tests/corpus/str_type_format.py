# tries: unbound str.format(...)
# expect: failed error
print("ESC" + "APED" + str.format("{0.__class__}", 1))
