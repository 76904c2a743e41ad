# tries: hide a forbidden import inside a function never called at check time
# expect: rejected
# canary: file
def later():
    import os
    return os
later().system("touch @@CANARY_FILE@@")
