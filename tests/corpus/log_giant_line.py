# tries: print one 10 MB line
# expect: completed ended
print("y" * 10**7)
