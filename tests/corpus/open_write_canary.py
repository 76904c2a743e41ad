# tries: open() the canary file for writing
# expect: rejected | failed error
# canary: file
f = open("@@CANARY_FILE@@", "w")
f.write("x")
print("ESC" + "APED")
