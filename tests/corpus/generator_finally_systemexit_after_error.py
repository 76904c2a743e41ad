# tries: a suspended generator whose finally raises SystemExit and keeps printing when the run's objects are torn down
# expect: failed error
def g():
    try:
        yield 1
    finally:
        print("finally after the run")
        raise SystemExit(0)


x = g()
next(x)
raise ValueError("end of the program")
