# Named colours
# Shows each named colour in turn and prints its name to the log.
import time

led_count = getLEDCount()
named = [
    ("RED", RED), ("ORANGE", ORANGE), ("YELLOW", YELLOW), ("GREEN", GREEN),
    ("CYAN", CYAN), ("BLUE", BLUE), ("PURPLE", PURPLE), ("MAGENTA", MAGENTA),
    ("PINK", PINK), ("WHITE", WHITE), ("WARM_WHITE", WARM_WHITE),
]
for name, colour in named:
    print(f"{name} is {colour}")
    setLEDs([colour] * led_count)
    time.sleep(0.5)
setLEDs([OFF] * led_count)
print("done")
