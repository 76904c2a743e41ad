# tries: read the runner's environment through os reached from random
# expect: failed error
# canary: env
import random
env = getattr(random, "_os").environ
print("ESC" + "APED", dict(env))
print(env["@@SECRET_NAME@@"])
