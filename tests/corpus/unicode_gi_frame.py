# tries: fullwidth gi_frame attribute
# expect: rejected
g = (i for i in [1])
print("ESC" + "APED", g.ｇｉ_ｆｒａｍｅ)
