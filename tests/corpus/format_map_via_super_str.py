# tries: super(S, s).format_map with a dict holding a function
# expect: failed error
class S(str):
    pass

def f():
    pass

s = S("{f.__globals__}")
leak = super(S, s).format_map({"f": f})
print("ESC" + "APED", leak)
