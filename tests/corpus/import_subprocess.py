# tries: import subprocess and spawn a shell
# expect: rejected
# canary: file
import subprocess
subprocess.run(["touch", "@@CANARY_FILE@@"])
print("ESC" + "APED")
