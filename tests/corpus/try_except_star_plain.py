# tries: try/except* with nothing underscored
# expect: rejected
try:
    setLEDs(None)
except* TypeError as eg:
    print("ESC" + "APED", eg)
