# tries: super(S, s).format: the real str.format through a super proxy (CVE-2023-41039 class)
# expect: failed error
import random

class S(str):
    pass

s = S("{0.seed.__func__.__globals__[_os].environ}")
leak = super(S, s).format(random.Random())
print("ESC" + "APED", leak)
