# tries: mremap(MREMAP_MAYMOVE | MREMAP_DONTUNMAP) over and over: copies of a touched region past RLIMIT_AS
# expect: completed ended
import ctypes

libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p]
MB = 1 << 20
FAILED = ctypes.c_void_p(-1).value
size = 64 * MB
region = libc.mmap(None, size, 3, 0x22, -1, 0)  # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS
ctypes.memset(region, 1, size)
copies = 0
for _ in range(16):  # 16 x 64 MiB: four times the 256 MiB limit
    moved = libc.mremap(region, size, size, 1 | 4, None)
    if moved in (None, FAILED):
        print("mremap refused past RLIMIT_AS, errno", ctypes.get_errno(), "after", copies, "copies")
        break
    copies += 1
    ctypes.memset(region, 1, size)  # the old range, empty again, touched again
    region = moved
else:
    print("ESCAPED: 16 copies of 64 MiB under a 256 MiB limit")
