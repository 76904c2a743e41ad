# tries: string.Formatter().format field access
# expect: rejected
import string
print("ESC" + "APED" + string.Formatter().format("{0.__class__}", 1))
