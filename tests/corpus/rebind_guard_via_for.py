# tries: a for-loop target named like a guard
# expect: rejected
for _getiter_ in [list]:
    pass
print("ESC" + "APED")
