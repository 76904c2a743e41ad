# tries: AttributeError.obj hands out ProgramApi.set_leds; call it on a forged self (a SandboxModule with private attributes) hoping for the real channel
# expect: failed error
import random

try:
    setLEDs.nope
except AttributeError as e:
    set_leds = e.obj
try:
    getLEDCount.nope
except AttributeError as e:
    get_count = e.obj


class Spy:
    def send(self, kind, payload):
        print("spy got", kind, len(payload))

    def read_exact(self, n):
        return b"a"


forged = type(random)("api", {"_channel": Spy(), "_led_count": 100000})
print(get_count(forged))
set_leds(forged, [(0, 0, 0, 0)] * 3)
try:
    get_count(getLEDCount)
except AttributeError as e:
    if type(e.obj).__name__ == "Channel":
        print("ESC" + "APED")
