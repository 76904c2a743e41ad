# tries: index __builtins__ for open
# expect: rejected
# canary: file
__builtins__["open"]("@@CANARY_FILE@@", "w")
