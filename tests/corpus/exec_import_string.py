# tries: exec() a string that imports os
# expect: rejected
# canary: file
exec("import os; os.system('touch @@CANARY_FILE@@')")
