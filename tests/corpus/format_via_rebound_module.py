# tries: rebind the name math to a str so math.format skips a compile-time fast path
# expect: failed error
import math
for math in ["{0.__class__.__mro__}"]:
    print("ESC" + "APED" + math.format(1))
