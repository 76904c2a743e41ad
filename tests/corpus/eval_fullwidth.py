# tries: call eval spelled in fullwidth letters
# expect: rejected
# canary: file
ｅｖａｌ("__import__('os').system('touch @@CANARY_FILE@@')")
