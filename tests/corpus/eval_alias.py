# tries: take eval as a value instead of calling it by name
# expect: rejected | failed error
# canary: file
e = eval
e("__import__('os').system('touch @@CANARY_FILE@@')")
print("ESC" + "APED")
