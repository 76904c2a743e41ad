# tries: madvise past its own memory: MADV_PAGEOUT/MADV_COLD (swap writes on demand), MADV_MERGEABLE (KSM side channel)
# expect: completed ended
# Touch, page out, repeat: swap writes to the Pi's SD card for 45 s at little CPU cost. KSM
# deduplicates pages across processes: a timing side channel on the runner's memory.
import ctypes
import mmap

SIZE = 1 << 20
area = mmap.mmap(-1, SIZE)
area.write(b"x" * SIZE)
view = ctypes.c_char.from_buffer(area)
address = ctypes.c_void_p(ctypes.addressof(view))
for name, advice in (("MADV_COLD", 20), ("MADV_PAGEOUT", 21), ("MADV_MERGEABLE", 12)):
    result = libc.madvise(address, ctypes.c_size_t(SIZE), advice)
    if result == 0:
        print("ESCAPED madvise", name)
    else:
        print("madvise", name, "refused, errno", ctypes.get_errno())
del view
