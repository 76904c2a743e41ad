# tries: public and private attributes of math and time, looking for a module
# expect: completed ended
import math
import time
for mod in [math, time]:
    for name in ["os", "sys", "__loader__", "__spec__", "__builtins__", "__dict__", "sleep",
                 "time", "sin", "factorial"]:
        try:
            value = getattr(mod, name)
            if "module" in str(type(value)) or "dict" in str(type(value)):
                print("ESC" + "APED", name)
        except Exception:
            continue
        try:
            if "module" in str(type(getattr(value, "__self__"))):
                print("ESC" + "APED self", name)
        except Exception:
            pass
