# tries: try/except* (CVE-2025-22153 class)
# expect: rejected
try:
    raise ExceptionGroup("g", [ValueError(1)])
except* ValueError as eg:
    print("ESC" + "APED", eg.exceptions[0].__traceback__)
