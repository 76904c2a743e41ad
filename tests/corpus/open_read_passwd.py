# tries: read /etc/passwd and print it
# expect: rejected | failed error
print("ESC" + "APED", open("/etc/passwd").read())
