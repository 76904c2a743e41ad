# tries: hash a million-deep nested tuple (segfaults CPython 3.11)
# expect: failed killed | failed crashed
x = ()
for i in range(10**6):
    x = (x,)
print(hash(x))
