# tries: getattr(s, 'format') with a field-access template
# expect: failed error
print("ESC" + "APED" + getattr("{0.__class__}", "format")(1))
