# tries: from importlib import import_module, then load os
# expect: rejected
# canary: file
from importlib import import_module
import_module("os").system("touch @@CANARY_FILE@@")
