# tries: swap a function's __code__ for unrestricted bytecode
# expect: rejected
def f():
    pass
f.__code__ = f.__code__.replace(co_names=("open",))
print("ESC" + "APED")
