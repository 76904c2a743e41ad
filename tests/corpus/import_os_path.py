# tries: import a submodule (os.path) of a forbidden package
# expect: rejected
import os.path
print("ESC" + "APED", os.path.exists("/"))
