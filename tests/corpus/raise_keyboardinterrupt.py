# tries: raise KeyboardInterrupt at the runner
# expect: failed error
raise KeyboardInterrupt
