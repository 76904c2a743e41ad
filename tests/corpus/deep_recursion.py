# tries: unbounded Python recursion
# expect: failed error
def f(n):
    return f(n + 1) + 1

f(0)
