# tries: import os spelled in fullwidth letters (NFKC-normalised to os)
# expect: rejected
# canary: file
import ｏｓ
ｏｓ.system("touch @@CANARY_FILE@@")
