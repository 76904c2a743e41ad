# tries: setpgid(0, 0) to leave the group the parent kills, then spin past the limit
# expect: failed cpu_limit|completed time_limit
import ctypes

must_fail("setpgid", 0, 0)
while True:
    pass
