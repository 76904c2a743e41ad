# tries: a relative import that could resolve to the runner's own package
# expect: rejected | failed error
from . import child
print("ESC" + "APED", child)
