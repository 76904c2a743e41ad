# tries: a 10 GB string
# expect: failed memory_limit
s = "a" * 10**10
print("ESC" + "APED", len(s))
