# tries: math.factorial(10**9): one long C call
# expect: failed cpu_limit | failed memory_limit
# time: 6
import math
print("ESC" + "APED", math.factorial(10**9) % 7)
