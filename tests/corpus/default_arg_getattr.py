# tries: a default argument evaluated at def time
# expect: failed error
def f(x=getattr((), "__class__")):
    return x

print("ESC" + "APED", f())
