# tries: function __globals__ to reach the child's real globals
# expect: rejected
def f():
    pass
print("ESC" + "APED", f.__globals__)
