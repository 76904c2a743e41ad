# tries: vars()/dir() on random to find its private os
# expect: rejected | failed error
import random
print("ESC" + "APED", vars(random)["_os"], dir(random))
