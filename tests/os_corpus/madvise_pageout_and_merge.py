# tries: madvise that reaches past its own memory: MADV_PAGEOUT/MADV_COLD push it to swap on demand (touch, page out, repeat: swap writes to the Pi's SD card for 45 s at little CPU cost), MADV_MERGEABLE opts it into KSM (page deduplication, a timing side channel on the runner's and other programs' memory)
# expect: completed ended
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
