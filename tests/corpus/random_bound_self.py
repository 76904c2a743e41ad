# tries: the Random instance behind random.choice, then its class internals
# expect: failed error
import random
inst = getattr(random.choice, "__self__")
print("ESC" + "APED", inst)
