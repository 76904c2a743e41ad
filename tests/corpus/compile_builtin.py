# tries: compile() and run unrestricted code
# expect: rejected | failed error
code = compile("import os", "x", "exec")
print("ESC" + "APED", code)
