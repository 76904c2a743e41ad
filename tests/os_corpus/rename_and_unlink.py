# tries: rename and unlink files
# expect: completed ended
import ctypes

must_fail("rename", b"/tmp/a", b"/tmp/b")
must_fail("unlink", MARKER.encode())
must_fail("mkdir", b"/tmp/ledtree-escape", 0o777)
