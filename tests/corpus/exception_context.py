# tries: exception __context__ to a runner-raised exception
# expect: rejected
try:
    try:
        setLEDs(None)
    except Exception:
        raise ValueError("x")
except ValueError as e:
    print("ESC" + "APED", e.__context__.__traceback__)
