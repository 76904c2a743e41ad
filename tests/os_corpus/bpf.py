# tries: bpf(BPF_PROG_LOAD)
# expect: completed ended
import ctypes

attr = ctypes.create_string_buffer(128)
must_fail("bpf", 5, attr, 128)
