# tries: import ctypes to call libc system()
# expect: rejected
# canary: file
import ctypes
ctypes.CDLL(None).system(b"touch @@CANARY_FILE@@")
