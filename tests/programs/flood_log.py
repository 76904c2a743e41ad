# Prints as fast as it can, forever.
line = "flood " * 50
while True:
    print(line)
