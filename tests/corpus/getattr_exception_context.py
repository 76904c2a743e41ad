# tries: getattr(e, '__context__') on a chained exception
# expect: failed error
try:
    try:
        setLEDs(None)
    except Exception:
        raise ValueError("x")
except ValueError as e:
    print("ESC" + "APED", getattr(e, "__context__"))
