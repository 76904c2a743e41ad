# tries: grow memory a megabyte at a time
# expect: failed memory_limit
# time: 6
keep = []
while True:
    keep.append("a" * 10**6 + str(len(keep)))
