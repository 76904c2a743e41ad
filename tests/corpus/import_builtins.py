# tries: import builtins and use the real open()
# expect: rejected
# canary: file
import builtins
builtins.open("@@CANARY_FILE@@", "w").write("x")
