# tries: global statement rebinds math inside a function
# expect: failed error
import math

def spoil():
    global math
    math = "{0.__class__}"

spoil()
print("ESC" + "APED" + math.format(1))
