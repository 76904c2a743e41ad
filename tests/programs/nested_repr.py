# Deeply nested data: its repr recurses in C.
x = []
for _ in range(200000):
    x = [x]
print(x)
