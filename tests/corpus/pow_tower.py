# tries: 10**10**10: one long C call
# expect: failed memory_limit | failed cpu_limit
# time: 6
x = 10**10**10
print("ESC" + "APED", x % 7)
