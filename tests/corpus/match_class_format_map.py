# tries: match class pattern keyword format_map walking to os.environ
# expect: rejected | failed error
import random

match "{r.seed.__func__.__globals__[_os].environ}":
    case str(format_map=fmt):
        print("ESC" + "APED", fmt({"r": random.Random()}))
