# tries: import sys and reach os through sys.modules
# expect: rejected
# canary: file
import sys
sys.modules["os"].system("touch @@CANARY_FILE@@")
print("ESC" + "APED")
