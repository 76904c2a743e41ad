# tries: from-import a private name out of an allowed module
# expect: rejected
from math import __loader__
print("ESC" + "APED", __loader__)
