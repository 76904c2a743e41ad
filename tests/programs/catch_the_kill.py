# Tries to outlive the time limit by swallowing every exception it can name.
import time

CANARY = "__CANARY__"
while True:
    try:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
    except SystemExit:
        pass
    except KeyboardInterrupt:
        pass
    except GeneratorExit:
        pass
