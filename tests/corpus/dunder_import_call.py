# tries: call __import__ directly
# expect: rejected
# canary: file
__import__("os").system("touch @@CANARY_FILE@@")
