# tries: the __self__ of a builtin or API function
# expect: failed error
print("ESC" + "APED", getattr(setLEDs, "__self__"))
print("ESC" + "APED", getattr(print, "__self__"))
