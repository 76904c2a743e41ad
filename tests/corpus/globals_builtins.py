# tries: reach __builtins__ through globals() with a string key
# expect: rejected | failed error
g = globals()
b = g["__builtins__"]
print("ESC" + "APED", b)
