# tries: an uncaught exception with a 1 MB message
# expect: failed error
raise ValueError("x" * 10**6)
