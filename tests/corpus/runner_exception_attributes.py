# tries: AttributeError.obj / NameError.name / StopIteration.value of errors raised inside the runner's own code
# expect: failed error
import random

seen = []
for attempt in (lambda: getLEDPositions().nope, lambda: random.seed.nope, lambda: print.nope):
    try:
        attempt()
    except AttributeError as e:
        seen.append(type(e.obj).__name__)
try:
    setLEDs([1])
except Exception as e:
    seen.append(repr(e.args))
print(seen)
if any(name in ("module", "frame", "dict", "Channel", "ProgramApi") for name in seen):
    print("ESC" + "APED")
