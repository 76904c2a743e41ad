# tries: format field path through a generator's gi_frame
# expect: failed error
g = (i for i in [1])
print("ESC" + "APED" + "{0.gi_frame.f_globals}".format(g))
