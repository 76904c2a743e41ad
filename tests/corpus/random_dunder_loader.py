# tries: random.__loader__ / random._inst
# expect: rejected
import random
print("ESC" + "APED", random.__loader__, random._inst)
