# tries: a faulthandler-style dump on stderr naming a 5,000-digit line, then exit without END (the parent parses it)
# expect: failed crashed
import os
os.write(2, b'(most recent call first):\n  File "<tree program>", line ' + b'1' * 5000 + b'\n')
os._exit(1)
