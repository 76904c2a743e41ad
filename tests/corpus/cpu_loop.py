# tries: an endless CPU loop
# expect: failed cpu_limit
# time: 6
while True:
    pass
