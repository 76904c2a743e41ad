# tries: getattr(random, '_os').system
# expect: failed error
# canary: file
import random
getattr(random, "_os").system("touch @@CANARY_FILE@@")
print("ESC" + "APED")
