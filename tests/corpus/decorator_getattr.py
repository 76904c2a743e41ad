# tries: a decorator expression that grabs __globals__
# expect: failed error
@lambda f: getattr(f, "__globals__")
def f():
    pass

print("ESC" + "APED", f)
