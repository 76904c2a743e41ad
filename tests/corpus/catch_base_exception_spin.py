# tries: catch BaseException around a CPU loop and keep spinning
# expect: failed cpu_limit
# time: 6
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
