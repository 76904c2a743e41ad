# tries: match mapping/sequence patterns binding guard-like names
# expect: rejected
match {"a": 1}:
    case {"a": _getattr_}:
        print("ESC" + "APED")
