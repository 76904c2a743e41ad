# tries: str.format_map field access
# expect: failed error
print("ESC" + "APED" + "{x.__class__}".format_map({"x": 1}))
