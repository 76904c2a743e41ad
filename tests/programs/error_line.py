def brightness(i):
    levels = [10, 20, 30]
    return levels[i]


for i in range(5):
    print(brightness(i))
