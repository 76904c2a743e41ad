# tries: create a file (the marker) in a world-writable folder
# expect: completed ended
import ctypes

must_fail("openat", -100, MARKER.encode(), 0o101, 0o666)
