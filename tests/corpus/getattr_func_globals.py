# tries: getattr(f, '__globals__') at run time
# expect: failed error
def f():
    pass
print("ESC" + "APED", getattr(f, "__globals__"))
