# tries: every public attribute of random, looking for a module object
# expect: completed ended
import random
names = ["os", "sys", "Random", "SystemRandom", "random", "seed", "choice", "getstate",
         "_os", "_sys", "_inst", "__builtins__", "__loader__", "__spec__", "bisect"]
for name in names:
    try:
        value = getattr(random, name)
    except Exception:
        continue
    try:
        if "module" in str(type(value)):
            print("ESC" + "APED", name)
    except Exception:
        pass
    for inner in ["os", "_os", "__globals__", "__module__", "__self__", "__func__"]:
        try:
            found = getattr(value, inner)
            if "module" in str(type(found)) or "dict" in str(type(found)):
                print("ESC" + "APED", name, inner)
        except Exception:
            continue
