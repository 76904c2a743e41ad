# tries: print as fast as possible forever
# expect: completed time_limit
# time: 0.8
while True:
    print("flood " * 100)
