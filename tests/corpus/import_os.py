# tries: import os and run a shell command that creates the canary file
# expect: rejected
# canary: file
import os
os.system("touch @@CANARY_FILE@@")
print("ESC" + "APED")
