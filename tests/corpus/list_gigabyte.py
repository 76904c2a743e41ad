# tries: a list of a billion items
# expect: failed memory_limit
x = [0] * 10**9
print("ESC" + "APED", len(x))
