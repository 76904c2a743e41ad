# tries: a parameter named random shadows the module; random.format_map
# expect: failed error
import random

def show(random):
    return random.format_map({"x": 1})

print("ESC" + "APED" + show("{x.__class__}"))
